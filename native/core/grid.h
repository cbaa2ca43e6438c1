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
  // Soft-NMS: calls fn(j, box_j, area_j) for every inserted box j with alive[j] set that may have IoU > threshold
  // with `box`. Entries found dead (before or after fn) leave their leaf for good, and the bounds of the leaf and of
  // its ancestors shrink to the boxes left, so later queries skip regions whose boxes are gone.
  template <typename F>
  void for_each_alive(const float* box, const uint8_t* alive, F&& fn) {
    if (nodes_.empty() || !candidate(box)) return;
    const Query q(box, rho_);
    uint32_t stack[2 * kMaxDepth + 2];
    int top = 0;
    stack[top++] = 0;
    while (top) {
      const uint32_t k = stack[--top];
      Node& nd = nodes_[k];
      if (!(nd.x1 < box[2] && nd.x2 > box[0] && nd.y1 < box[3] && nd.y2 > box[1])) continue;
      if (nd.w_max <= q.w_lo || nd.w_min >= q.w_hi || nd.h_max <= q.h_lo || nd.h_min >= q.h_hi) continue;
      if (nd.leaf) {
        Entry* e = entries_.data() + nd.lo;
        uint32_t c = 0, m = nd.kept;
        while (c < m) {
          if (alive[e[c].box]) {
            fn(e[c].box, static_cast<const float*>(e[c].xyxy), e[c].area);
            if (alive[e[c].box]) {
              ++c;
              continue;
            }
          }
          e[c] = e[--m];
        }
        if (m != nd.kept) nd.kept = static_cast<uint16_t>(m), shrink(k);
        continue;
      }
      stack[top++] = 2 * k + 2;
      stack[top++] = 2 * k + 1;
    }
  }
  // Fetches the leaf of the box at position i and a few of its ancestors ahead of its query.
  void prefetch(size_t i) const {
    if (i >= leaf_of_.size() || leaf_of_[i] < 0) return;
    size_t k = static_cast<size_t>(leaf_of_[i]);
    prefetch_hint(&entries_[static_cast<size_t>(nodes_[k].lo)]);
    for (int up = 0; up < 4 && k > 0; ++up, k = (k - 1) / 2) prefetch_hint(&nodes_[k & 1 ? k : k - 1]);
  }
  // Bytes held (nodes, leaf entries, leaf map), for tests.
  size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(Node) + entries_.capacity() * sizeof(Entry) + leaf_of_.capacity() * 4;
  }

 private:
  static constexpr size_t kLeaf = 8;
  static constexpr int kMaxDepth = 40;  // > log2(2^31 / kLeaf) + 1
  struct Node {
    float x1, y1, x2, y2;              // bounding rectangle of the inserted boxes (empty: +inf, −inf)
    float w_min, w_max, h_min, h_max;  // their widths and heights as box_area computes them
    int32_t lo;                        // the node's first slot in entries_
    uint16_t kept;                     // leaf: inserted boxes, in entries_[lo, lo + kept)
    uint16_t leaf;
  };
  struct Entry {
    float xyxy[4];
    float area;
    int32_t box;
  };
  static constexpr Node kEmpty{INFINITY, INFINITY,  -INFINITY, -INFINITY, INFINITY, -INFINITY,
                               INFINITY, -INFINITY, 0,         0,         0};
  struct Item {
    float xyxy[4];
    int32_t pos;
  };
  // A query box and its side-ratio window: a box with w_k <= w_lo or w_k >= w_hi (heights alike) has IoU <=
  // threshold; the bounds are rounded outwards (a product or quotient rounded to float could land on the wrong side).
  struct Query {
    const float* b;
    float w_lo = 0, w_hi = INFINITY, h_lo = 0, h_hi = INFINITY;
    Query(const float* box, double rho) : b(box) {
      if (rho > 0) {
        const double wq = box[2] - box[0], hq = box[3] - box[1];  // as float differences, then widened
        w_lo = float_below(rho * static_cast<float>(wq) * (1 - 0x1p-40));
        h_lo = float_below(rho * static_cast<float>(hq) * (1 - 0x1p-40));
        w_hi = float_above(static_cast<float>(wq) / rho * (1 + 0x1p-40));
        h_hi = float_above(static_cast<float>(hq) / rho * (1 + 0x1p-40));
      }
    }
  };
  // The subtree of node k, depth first.
  template <typename F>
  bool search(size_t k0, const Query& q, F& fn) const {
    const float* box = q.b;
    uint32_t stack[2 * kMaxDepth + 2];
    int top = 0;
    stack[top++] = static_cast<uint32_t>(k0);
    while (top) {
      const Node& nd = nodes_[stack[--top]];
      // Positive-area intersection with some inserted box, and a side within the window (empty nodes fail).
      if (!(nd.x1 < box[2] && nd.x2 > box[0] && nd.y1 < box[3] && nd.y2 > box[1])) continue;
      if (nd.w_max <= q.w_lo || nd.w_min >= q.w_hi || nd.h_max <= q.h_lo || nd.h_min >= q.h_hi) continue;
      if (nd.leaf) {
        const Entry* e = entries_.data() + nd.lo;
        for (uint32_t c = 0; c < nd.kept; ++c)
          if (fn(e[c].box, e[c].xyxy, e[c].area)) return true;
        continue;
      }
      const uint32_t k = static_cast<uint32_t>(&nd - nodes_.data());
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
  void build(size_t k, size_t lo, size_t hi, std::vector<Item>& items);

  const float* boxes_;
  const int32_t* order_;
  double rho_ = 0;
  std::vector<Node> nodes_;
  std::vector<Entry> entries_;    // leaf slots: a leaf of m boxes owns m consecutive entries
  std::vector<int32_t> leaf_of_;  // position in order → its leaf node, or −1
};

}  // namespace ssd
