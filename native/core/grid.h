// Exact overlap index for greedy NMS and soft-NMS on large inputs: a static bounding-box tree (BoxTree).
//
// Only pairs whose float32 IoU can be > threshold (>= 0) matter. Such a pair needs a positive-area intersection of
// two boxes with finite, positive area, and (for threshold t > 0) side ratios w_k/w_q, w_q/w_k, h_k/h_q, h_q/h_k
// all > ρ ≈ t (with room for float32 rounding, see grid.cc). Every candidate is known before the first query, so
// the tree is built once over all of them: median splits on the box centres' x or y while a node spans several of
// its widest (tallest) boxes, else on the widths or heights, so that huge, tiny, wide, tall and far-apart boxes end
// up in their own subtrees instead of stretching a grid's cells or a class's list. Boxes are inserted as they are
// kept (greedy) or all at once (soft-NMS), and each node holds the bounding rectangle and the width/height ranges
// of its inserted boxes; a query descends only into nodes that can hold a reported box. Nothing in the geometry
// depends on the data's span, median or outliers; NaN/Inf and zero-area boxes are never inserted (IoU 0).
// Build O(n log n); memory about 40 bytes per box (plus 20 while building).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ssd {

// A read prefetch hint where the compiler has one.
inline void prefetch_hint(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

class BoxTree {
 public:
  // Builds the tree over boxes[order[0..n)]; only those may be inserted (by their position i in `order`).
  BoxTree(const float* boxes, const int32_t* order, size_t n, double threshold);
  BoxTree(const BoxTree&) = delete;  // node_ points into nodes_
  BoxTree& operator=(const BoxTree&) = delete;
  // Registers the box at position i of `order` (no effect for a box with IoU 0 with everything).
  void insert(size_t i);
  // Greedy NMS: calls fn(j, box_j, area_j) (box_j: its four coordinates, area_j: box_area(box_j)) for every
  // inserted box j that may have IoU > threshold with `box`, the box at position i of `order` (not inserted yet),
  // stopping early when fn returns true; returns whether it stopped. The search starts in the box's own leaf and
  // climbs, searching each sibling subtree on the way up, so that near neighbours, the likeliest hits, come first
  // and each level costs one bounds test.
  template <typename F>
  bool any(size_t i, const float* box, F&& fn) const {
    const int32_t leaf = i < leaf_of_.size() ? leaf_of_[i] : -1;
    if (leaf < 0) return false;  // IoU 0 with every box
    const Query q(box, rho_);
    if (search(static_cast<size_t>(leaf), q, fn)) return true;
    for (size_t k = static_cast<size_t>(leaf); k > 0; k = (k - 1) / 2)
      if (search(k & 1 ? k + 1 : k - 1, q, fn)) return true;
    return false;
  }
  // Soft-NMS keeps each candidate's current score in its entry (`insert(i, score)`), beside its coordinates, so that
  // decaying the boxes around a pick touches only the leaves it visits (a score array indexed by box would be read
  // and written at random). for_each_alive calls fn(j, box_j, area_j, score_j) for every inserted box j still alive
  // that may have IoU > threshold with `box`; fn may lower score_j and returns whether the box stays alive. Boxes
  // that die (fn returns false, or `kill`) leave their leaf for good, and the bounds of the leaf and of its ancestors
  // shrink to the boxes left, so later queries skip regions whose boxes are gone.
  template <typename F>
  void for_each_alive(const float* box, F&& fn) {
    if (meta_.empty() || !candidate(box)) return;
    const Query q(box, rho_);
    uint32_t stack[2 * kMaxDepth + 2];
    int top = 0;
    stack[top++] = 0;
    while (top) {
      const uint32_t k = stack[--top];
      const Node& nd = node_[k];
      if (!(nd.x1 < q.x2 && nd.x2 > q.x1 && nd.y1 < q.y2 && nd.y2 > q.y1)) continue;
      if (nd.w_max <= q.w_lo || nd.w_min >= q.w_hi || nd.h_max <= q.h_lo || nd.h_min >= q.h_hi) continue;
      Meta& mt = meta_[k];
      if (mt.leaf) {
        Entry* e = entries_.data() + mt.lo;
        uint32_t c = 0, m = mt.kept;
        while (c < m) {
          Entry& x = e[c];
          if (!std::isnan(x.score) && (!q.reaches(x.xyxy) || fn(x.box, static_cast<const float*>(x.xyxy), x.area, x.score))) {
            ++c;
            continue;
          }
          slot_[static_cast<size_t>(x.box)] = kDead;
          if (c != --m) x = e[m], slot_[static_cast<size_t>(x.box)] = static_cast<int32_t>(mt.lo + c);
        }
        if (m != mt.kept) mt.kept = static_cast<uint16_t>(m), shrink(k);
        continue;
      }
      stack[top++] = 2 * k + 2;
      stack[top++] = 2 * k + 1;
    }
  }
  // Soft-NMS: registers the box at position i with its score (as insert(i)); boxes are then looked up by their
  // index in `boxes` (< ids, the number of boxes).
  void insert(size_t i, float score, size_t ids);
  // Soft-NMS: the current score of box j, NaN once it died, or `initial` when it is not indexed (IoU 0 with every
  // box: its score never changes).
  float score(int32_t j, float initial) const {
    const int32_t s = slot_[static_cast<size_t>(j)];
    return s >= 0 ? entries_[static_cast<size_t>(s)].score : s == kDead ? NAN : initial;
  }
  // Soft-NMS: box j (indexed or not) dies (it was picked); its entry leaves at the next visit.
  void kill(int32_t j) {
    int32_t& s = slot_[static_cast<size_t>(j)];
    if (s >= 0) entries_[static_cast<size_t>(s)].score = NAN;
    s = kDead;
  }
  // Fetches the leaf of the box at position i and a few of its ancestors ahead of its query.
  void prefetch(size_t i) const {
    if (i >= leaf_of_.size() || leaf_of_[i] < 0) return;
    size_t k = static_cast<size_t>(leaf_of_[i]);
    prefetch_hint(&entries_[static_cast<size_t>(meta_[k].lo)]);
    for (int up = 0; up < 4 && k > 0; ++up, k = (k - 1) / 2) prefetch_hint(&node_[k & 1 ? k : k - 1]);
  }
  // Bytes held (nodes, leaf entries, leaf and slot maps), for tests.
  size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(Node) + meta_.capacity() * sizeof(Meta) + entries_.capacity() * sizeof(Entry) +
           (leaf_of_.capacity() + slot_.capacity()) * 4;
  }

 private:
  static constexpr size_t kLeaf = 16;
  static constexpr int kMaxDepth = 40;  // > log2(2^31 / kLeaf) + 1
  // A node's bounds, 32 bytes, the two children of a node in one 64-byte line (node_: see the constructor), so that a
  // query reads a line per pair of siblings; what only leaves need is in Meta, apart.
  struct alignas(32) Node {
    float x1, y1, x2, y2;              // bounding rectangle of the inserted boxes (empty: +inf, −inf)
    float w_min, w_max, h_min, h_max;  // their widths and heights as box_area computes them
  };
  struct Meta {
    int32_t lo;     // the node's first slot in entries_
    uint16_t kept;  // leaf: inserted boxes, in entries_[lo, lo + kept)
    uint16_t leaf;
  };
  struct alignas(32) Entry {
    float xyxy[4];
    float area;
    int32_t box;
    float score;  // soft-NMS: the current score (NaN: dead)
  };
  static constexpr Node kEmpty{INFINITY, INFINITY, -INFINITY, -INFINITY, INFINITY, -INFINITY, INFINITY, -INFINITY};
  struct Item {
    float xyxy[4];
    int32_t pos;
  };
  // A query box and its side-ratio window: a box with w_k <= w_lo or w_k >= w_hi (heights alike) has IoU <=
  // threshold; the bounds are rounded outwards (a product or quotient rounded to float could land on the wrong side).
  // And its core: IoU > t also needs the intersection's width iw > ρ·w_q (the side-ratio argument with iw ≤ w_k in
  // place of w_k), and iw ≤ fl(x2_k − x1_q) ≤ (x2_k − x1_q)(1 + 2⁻²⁴) (float subtraction is exact where the result is
  // subnormal), so x2_k > x1_q + ρ'·w_q with ρ' = ρ·(1 − 2⁻²⁰) < ρ/(1 + 2⁻²⁴); alike x1_k < x2_q − ρ'·w_q and in y.
  // A reported box therefore reaches into [x1_q + ρ'w_q, x2_q − ρ'w_q] × [y1_q + ρ'h_q, y2_q − ρ'h_q] (at t ≥ 0.5, it
  // covers the query's centre), a much smaller target than the query box. The bounds are computed in double, moved
  // outwards by more than the double rounding (2⁻⁵⁰ of the magnitudes), rounded outwards to float, and never inside
  // the query box's own (positive intersection).
  struct Query {
    const float* b;
    float w_lo = 0, w_hi = INFINITY, h_lo = 0, h_hi = INFINITY;
    float x1, y1, x2, y2;  // a reported box has x2_k > x1, x1_k < x2, y2_k > y1, y1_k < y2
    Query(const float* box, double rho) : b(box), x1(box[0]), y1(box[1]), x2(box[2]), y2(box[3]) {
      if (rho > 0) {
        const float wf = box[2] - box[0], hf = box[3] - box[1];  // as box_area computes them
        const double wq = wf, hq = hf;
        w_lo = float_below(rho * wq * (1 - 0x1p-40));
        h_lo = float_below(rho * hq * (1 - 0x1p-40));
        w_hi = float_above(wq / rho * (1 + 0x1p-40));
        h_hi = float_above(hq / rho * (1 + 0x1p-40));
        const double r = rho * (1 - 0x1p-20);
        const double ex = 0x1p-50 * (std::fabs(static_cast<double>(box[0])) + std::fabs(static_cast<double>(box[2])) + wq),
                     ey = 0x1p-50 * (std::fabs(static_cast<double>(box[1])) + std::fabs(static_cast<double>(box[3])) + hq);
        if (wq < INFINITY && hq < INFINITY) {
          x1 = std::max(x1, float_below_signed(box[0] + r * wq - ex));
          x2 = std::min(x2, float_above_signed(box[2] - r * wq + ex));
          y1 = std::max(y1, float_below_signed(box[1] + r * hq - ey));
          y2 = std::min(y2, float_above_signed(box[3] - r * hq + ey));
        }
      }
    }
    // Whether box k (four coordinates) reaches into the core.
    bool reaches(const float* k) const { return k[2] > x1 && k[0] < x2 && k[3] > y1 && k[1] < y2; }
  };
  // The subtree of node k, depth first.
  template <typename F>
  bool search(size_t k0, const Query& q, F& fn) const {
    uint32_t stack[2 * kMaxDepth + 2];
    int top = 0;
    stack[top++] = static_cast<uint32_t>(k0);
    while (top) {
      const uint32_t k = stack[--top];
      const Node& nd = node_[k];
      // Some inserted box reaching into the core, and a side within the window (empty nodes fail).
      if (!(nd.x1 < q.x2 && nd.x2 > q.x1 && nd.y1 < q.y2 && nd.y2 > q.y1)) continue;
      if (nd.w_max <= q.w_lo || nd.w_min >= q.w_hi || nd.h_max <= q.h_lo || nd.h_min >= q.h_hi) continue;
      const Meta& mt = meta_[k];
      if (mt.leaf) {
        const Entry* e = entries_.data() + mt.lo;
        for (uint32_t c = 0; c < mt.kept; ++c)
          if (q.reaches(e[c].xyxy) && fn(e[c].box, e[c].xyxy, e[c].area)) return true;
        continue;
      }
      stack[top++] = 2 * k + 2;
      stack[top++] = 2 * k + 1;
    }
    return false;
  }
  static bool candidate(const float* b);
  // Recomputes the bounds of leaf k from its entries, then of its ancestors from their children, up to the first
  // that does not change.
  void shrink(size_t k);
  // The largest float <= v and the smallest float >= v (v >= 0, double).
  static float float_below(double v) {
    if (v > 0x1.fffffep127) return 0x1.fffffep127f;  // FLT_MAX (threshold > 1; a float cast would be undefined)
    float f = static_cast<float>(v);
    return static_cast<double>(f) > v ? std::nextafter(f, 0.f) : f;
  }
  static float float_above(double v) {
    if (!(v <= 0x1.fffffep127)) return INFINITY;  // beyond FLT_MAX (a float cast would be undefined)
    float f = static_cast<float>(v);
    return static_cast<double>(f) < v ? std::nextafter(f, INFINITY) : f;
  }
  // The same for any finite v (beyond ±FLT_MAX: ±inf, on the safe side).
  static float float_below_signed(double v) { return v >= 0 ? float_below(v) : -float_above(-v); }
  static float float_above_signed(double v) { return v >= 0 ? float_above(v) : -float_below(-v); }
  void build(size_t k, size_t lo, size_t hi, std::vector<Item>& items);

  const float* boxes_;
  const int32_t* order_;
  double rho_ = 0;
  std::vector<Node> nodes_;  // storage; node_ = nodes_.data() or one past, so that node_ + 1 is 64-byte aligned
  Node* node_ = nullptr;
  std::vector<Meta> meta_;
  std::vector<Entry> entries_;    // leaf slots: a leaf of m boxes owns m consecutive entries
  std::vector<int32_t> leaf_of_;  // position in order → its leaf node, or −1
  std::vector<int32_t> slot_;     // soft-NMS: box index → its slot in entries_, kNotIndexed or kDead
  static constexpr int32_t kNotIndexed = -1, kDead = -2;
};

}  // namespace ssd
