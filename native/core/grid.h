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
#include <cstring>
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
  // Whether the box at position i is indexed (false: IoU 0 with every box; insert(i) does nothing).
  bool indexed(size_t i) const { return i < leaf_of_.size() && leaf_of_[i] >= 0; }
  // Greedy NMS, for kBatch (or fewer) consecutive candidates at once: positions i0 … i0 + m − 1, with boxes[c] the
  // box at position i0 + c. Calls fn(c, j, box_j, area_j) (box_j: four coordinates, area_j: box_area(box_j)) for
  // inserted boxes j that may have IoU > threshold with boxes[c], until fn returns true; hit[c] says whether it did.
  // Each search starts in its box's own leaf and climbs, searching each sibling subtree on the way up, so that near
  // neighbours, the likeliest hits, come first. The searches are independent (none inserts), so they advance in
  // turn, a node or a leaf each, and each prefetches what it reads next: up to m cache misses are in flight at once
  // instead of one.
  static constexpr int kBatch = 8;
  template <typename F>
  void any_batch(size_t i0, int m, const float* const* boxes, bool* hit, F&& fn) const {
    Cursor cur[kBatch];
    int live[kBatch], active = 0;  // the searches still running
    for (int c = 0; c < m; ++c) {
      const size_t i = i0 + static_cast<size_t>(c);
      hit[c] = false;
      if (!indexed(i)) continue;  // IoU 0 with every box
      Cursor& u = cur[c];
      u.q = Query(boxes[c], rho_);
      u.up = static_cast<uint32_t>(leaf_of_[i]);
      u.stack[0] = u.up, u.top = 1;
      live[active++] = c;
    }
    while (active) {
      for (int a = 0; a < active;) {
        const int c = live[a];
        Cursor& u = cur[c];
        if (!u.top) {  // this subtree is done: climb a level, to the sibling subtree
          if (u.up == 0) {
            live[a] = live[--active];
            continue;
          }
          u.stack[u.top++] = u.up & 1 ? u.up + 1 : u.up - 1;
          u.up = (u.up - 1) / 2;
        }
        const uint32_t k = u.stack[--u.top];
        ++a;
        if (k & kScan) {  // a leaf whose bounds passed, its coordinates prefetched a round ago
          const uint32_t leaf = k & ~kScan;
          const size_t s0 = slot0(leaf), cnt = kept_[leaf - first_leaf_];
          for (size_t x = s0; x < s0 + cnt; ++x)
            if (u.q.reaches(rect_[x].xyxy) && fn(c, info_[x].box, rect_[x].xyxy, info_[x].area)) {
              hit[c] = true;
              live[--a] = live[--active];
              break;
            }
        } else if (passes(node_[k], u.q)) {
          if (k >= first_leaf_) {
            prefetch_slots(k);
            u.stack[u.top++] = k | kScan;
          } else {
            prefetch_hint(&node_[2 * k + 1]);  // both children: one line
            u.stack[u.top++] = 2 * k + 2;
            u.stack[u.top++] = 2 * k + 1;
          }
        }
      }
    }
  }
  // Soft-NMS keeps each candidate's current score in its slot (`insert(i, score)`), so that decaying the boxes
  // around a pick touches only the leaves it visits (a score array indexed by box would be read and written at
  // random). for_each_alive calls fn(j, box_j, area_j, score_j) for every inserted box j still alive that may have
  // IoU > threshold with `box`; fn may lower score_j and returns whether the box stays alive. Boxes that die (fn
  // returns false, or `kill`) leave their leaf for good, and the bounds of the leaf and of its ancestors shrink to
  // the boxes left, so later queries skip regions whose boxes are gone.
  template <typename F>
  void for_each_alive(const float* box, F&& fn) {
    if (kept_.empty() || !candidate(box)) return;
    const Query q(box, rho_);
    uint32_t stack[2 * kMaxDepth + 2];
    int top = 0;
    stack[top++] = 0;
    while (top) {
      const uint32_t k = stack[--top];
      if (!passes(node_[k], q)) continue;
      if (k < first_leaf_) {
        stack[top++] = 2 * k + 2;
        stack[top++] = 2 * k + 1;
        continue;
      }
      const size_t s0 = slot0(k);
      uint8_t& kept = kept_[k - first_leaf_];
      size_t c = 0, m = kept;
      while (c < m) {
        Rect& r = rect_[s0 + c];
        Info& in = info_[s0 + c];
        if (!std::isnan(in.score) &&
            (!q.reaches(r.xyxy) || fn(in.box, static_cast<const float*>(r.xyxy), in.area, in.score))) {
          ++c;
          continue;
        }
        slot_[static_cast<size_t>(in.box)] = kDead;
        if (c != --m)
          r = rect_[s0 + m], in = info_[s0 + m], slot_[static_cast<size_t>(in.box)] = static_cast<int32_t>(s0 + c);
      }
      if (m != kept) kept = static_cast<uint8_t>(m), shrink(k);
    }
  }
  // Soft-NMS: registers the box at position i with its score (as insert(i)); boxes are then looked up by their
  // index in `boxes` (< ids, the number of boxes).
  void insert(size_t i, float score, size_t ids);
  // Soft-NMS: the current score of box j, NaN once it died, or `initial` when it is not indexed (IoU 0 with every
  // box: its score never changes).
  float score(int32_t j, float initial) const {
    const int32_t s = slot_[static_cast<size_t>(j)];
    return s >= 0 ? info_[static_cast<size_t>(s)].score : s == kDead ? NAN : initial;
  }
  // Soft-NMS: box j (indexed or not) dies (it was picked); its slot leaves at the next visit.
  void kill(int32_t j) {
    int32_t& s = slot_[static_cast<size_t>(j)];
    if (s >= 0) info_[static_cast<size_t>(s)].score = NAN;
    s = kDead;
  }
  // Fetches what the search of the box at position i reads first, ahead of it: its leaf's coordinates and the line
  // of each sibling pair on the way up (the top levels stay cached).
  void prefetch(size_t i) const {
    if (!indexed(i)) return;
    uint32_t k = static_cast<uint32_t>(leaf_of_[i]);
    prefetch_slots(k);
    for (; k > 1023; k = (k - 1) / 2) prefetch_hint(&node_[k & 1 ? k : k - 1]);
  }
  // Soft-NMS: fetches the slot index of box j ahead of score(j).
  void prefetch_score(int32_t j) const { prefetch_hint(&slot_[static_cast<size_t>(j)]); }
  // Bytes held (nodes, slots, leaf and slot maps), for tests.
  size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(Node) + rect_.capacity() * sizeof(Rect) + info_.capacity() * sizeof(Info) +
           kept_.capacity() + (leaf_of_.capacity() + slot_.capacity()) * 4;
  }

 private:
  static constexpr size_t kLeaf = 16;
  static constexpr int kMaxDepth = 40;  // > log2(2^31 / kLeaf) + 1
  // A node's bounds, 32 bytes, the two children of a node in one 64-byte line (node_: see the constructor), so that a
  // query reads a line per pair of siblings.
  struct alignas(32) Node {
    float x1, y1, x2, y2;              // bounding rectangle of the inserted boxes (empty: +inf, −inf)
    float w_min, w_max, h_min, h_max;  // their widths and heights as box_area computes them
  };
  // A slot: a leaf's box, its coordinates (read by every search that reaches the leaf) apart from the rest (read for
  // the few that reach into the query's core).
  struct alignas(16) Rect {
    float xyxy[4];
  };
  struct Info {
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
    const float* b = nullptr;
    float w_lo = 0, w_hi = INFINITY, h_lo = 0, h_hi = INFINITY;
    float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // a reported box has x2_k > x1, x1_k < x2, y2_k > y1, y1_k < y2
    Query(const float* box, double rho) : b(box), x1(box[0]), y1(box[1]), x2(box[2]), y2(box[3]) {
      if (rho > 0) {
        const float wf = box[2] - box[0], hf = box[3] - box[1];  // as box_area computes them
        const double wq = wf, hq = hf;
        w_lo = float_below(rho * wq * (1 - 0x1p-40));
        h_lo = float_below(rho * hq * (1 - 0x1p-40));
        w_hi = float_above(wq / rho * (1 + 0x1p-40));
        h_hi = float_above(hq / rho * (1 + 0x1p-40));
        const double r = rho * (1 - 0x1p-20);
        const double ex = 0x1p-50 *
                          (std::fabs(static_cast<double>(box[0])) + std::fabs(static_cast<double>(box[2])) + wq),
                     ey = 0x1p-50 *
                          (std::fabs(static_cast<double>(box[1])) + std::fabs(static_cast<double>(box[3])) + hq);
        if (wq < INFINITY && hq < INFINITY) {
          x1 = std::max(x1, float_below_signed(box[0] + r * wq - ex));
          x2 = std::min(x2, float_above_signed(box[2] - r * wq + ex));
          y1 = std::max(y1, float_below_signed(box[1] + r * hq - ey));
          y2 = std::min(y2, float_above_signed(box[3] - r * hq + ey));
        }
      }
    }
    Query() = default;
    // Whether box k (four coordinates) reaches into the core.
    bool reaches(const float* k) const { return k[2] > x1 && k[0] < x2 && k[3] > y1 && k[1] < y2; }
  };
  // A search of any_batch: its query, the node on its climb whose sibling subtree is next, and the stack of the
  // subtree being searched (node indices; kScan marks a leaf to scan).
  static constexpr uint32_t kScan = 0x80000000u;
  struct Cursor {
    Query q;
    uint32_t up;
    int top;
    uint32_t stack[2 * kMaxDepth + 2];
  };
  // Whether node nd may hold a reported box: one reaching into the query's core with a side within the window
  // (empty nodes fail).
  static bool passes(const Node& nd, const Query& q) {
    return nd.x1 < q.x2 && nd.x2 > q.x1 && nd.y1 < q.y2 && nd.y2 > q.y1 &&
           !(nd.w_max <= q.w_lo || nd.w_min >= q.w_hi || nd.h_max <= q.h_lo || nd.h_min >= q.h_hi);
  }
  // Leaf k's slots: [slot0(k), slot0(k) + kept_[k − first_leaf_]).
  size_t slot0(uint32_t k) const { return static_cast<size_t>(k - first_leaf_) * cap_; }
  void prefetch_slots(uint32_t k) const {
    const char* r = reinterpret_cast<const char*>(rect_.data() + slot0(k));
    const size_t bytes = kept_[k - first_leaf_] * sizeof(Rect);
    for (size_t b = 0; b < bytes; b += 64) prefetch_hint(r + b);
  }
  static bool candidate(const float* b);
  // Recomputes the bounds of leaf k from its entries, then of its ancestors from their children, up to the first
  // that does not change.
  void shrink(size_t k);
  // The largest float <= v and the smallest float >= v (v >= 0, double).
  // (The float nearest v is > 0 when it is above v ≥ 0, and the next float up from a float ≥ 0 below v ≤ FLT_MAX is
  // finite: one step is ±1 on the bits.)
  static float float_below(double v) {
    if (v > 0x1.fffffep127) return 0x1.fffffep127f;  // FLT_MAX (threshold > 1; a float cast would be undefined)
    const float f = static_cast<float>(v);
    return static_cast<double>(f) > v ? step_bits(f, -1) : f;
  }
  static float float_above(double v) {
    if (!(v <= 0x1.fffffep127)) return INFINITY;  // beyond FLT_MAX (a float cast would be undefined)
    const float f = static_cast<float>(v);
    return static_cast<double>(f) < v ? step_bits(f, 1) : f;
  }
  static float step_bits(float f, int32_t d) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u += static_cast<uint32_t>(d);
    std::memcpy(&f, &u, 4);
    return f;
  }
  // The same for any finite v (beyond the float range: ±FLT_MAX or ±inf, whichever is on the safe side).
  static float float_below_signed(double v) { return v >= 0 ? float_below(v) : -float_above(-v); }
  static float float_above_signed(double v) { return v >= 0 ? float_above(v) : -float_below(-v); }
  void build(size_t k, size_t lo, size_t hi, std::vector<Item>& items);

  const float* boxes_;
  const int32_t* order_;
  double rho_ = 0;
  std::vector<Node> nodes_;  // storage; node_ = nodes_.data() or one past, so that node_ + 1 is 64-byte aligned
  Node* node_ = nullptr;
  // Every leaf is at the same depth: nodes first_leaf_ … 2·first_leaf_ (a node is a leaf by its index), leaf k
  // owning cap_ slots from slot0(k), kept_[k − first_leaf_] of them in use.
  uint32_t first_leaf_ = 0;
  size_t cap_ = 0;
  std::vector<Rect> rect_;
  std::vector<Info> info_;
  std::vector<uint8_t> kept_;
  std::vector<int32_t> leaf_of_;  // position in order → its leaf node, or −1
  std::vector<int32_t> slot_;     // soft-NMS: box index → its slot, kNotIndexed or kDead
  static constexpr int32_t kNotIndexed = -1, kDead = -2;
};

}  // namespace ssd
