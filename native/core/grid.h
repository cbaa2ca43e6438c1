// Exact overlap index for NMS and soft-NMS on large inputs: a grid per box size class.
//
// Only pairs whose float32 IoU can be > threshold (>= 0) matter, and such a pair needs a positive-area
// intersection of two boxes with finite, positive area. Each such box falls in a size class (cx, cy) =
// (⌊(ilogb(width) − px)/2⌋, ⌊(ilogb(height) − py)/2⌋) (two binades per class and axis; the parities px, py are
// chosen from the data so that fewer classes are used) and is registered in the cells of its
// class's grid (a cell is 2^(e+1) wide for the largest width exponent e in the class, so a box covers at most 2×2
// cells and a cell holds boxes of at most 4× different sizes). IoU > t bounds the width and height ratios of the
// pair (by about t, with room for float32 rounding, see grid.cc), so a query visits only the classes within that
// ratio of its own, each in a bounded number of cells, or scans the class's list when that is shorter. No span,
// median or outlier enters the geometry: huge, tiny, far-apart, inverted and non-finite boxes cannot make a query
// visit more than a bounded number of cells for a given t (the bound grows like log²(1/t)). A class whose boxes
// cover a compact range of cells stores them in a dense array, any other class in a hash table keyed by cell.
// Below ρ = 1/8 (t ≲ 0.12, t = 0 included: the window then holds every class) and when the classes span 16× in
// size or more, queries walk an occupancy tree instead of looping over the window's classes: square nodes of side
// 2^l from the smallest class level up to the largest, a node present when a registered box of that level or
// below has a cell in it, each node listing the classes of its own level filed there (grouped by cell shape, with
// bounding rectangles, and the boxes of each class filed there). A query descends from the top through the present
// nodes that meet it, so far-away regions and classes are skipped; results are the same (only the visiting order
// of the candidates differs, and callers do not depend on it).
// A query may report a box more than once (one report per shared cell); callers tolerate or dedupe.
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

class BoxGrid {
 public:
  // Prepares classes for the boxes among boxes[order[0..n)]; only those may be inserted. threshold >= 0: queries
  // report every registered box whose IoU with the query may be > threshold (and possibly others).
  BoxGrid(const float* boxes, const int32_t* order, size_t n, double threshold);
  // Registers box `idx` (one of the prepared boxes). A box with IoU 0 with everything (a non-finite coordinate,
  // zero, negative, underflowing or infinite area) registers nowhere.
  void insert(int32_t idx);
  // Calls fn(j, box_j, area_j) for every registered box j that may have IoU > threshold with `box` (box_j: its four
  // coordinates, area_j: box_area(box_j)), stopping early when fn returns true; returns whether it stopped.
  // A hint: fetches the cell of `box` in its own class (its most likely neighbours) ahead of a query.
  void prefetch(const float* box) const {
    int ex, ey;
    if (!exponents(box, ex, ey)) return;
    const int cx = class_x(ex), cy = class_y(ey);
    if (cx < cx_lo_ || cx > cx_hi_ || cy < cy_lo_ || cy > cy_hi_) return;
    const int32_t c = class_at_[static_cast<size_t>(cx - cx_lo_) * cy_n_ + (cy - cy_lo_)];
    if (c < 0 || !classes_[c].dense) return;
    const Class& cl = classes_[c];
    const int64_t x = cell(box[0], cl.cw), y = cell(box[1], cl.ch);
    if (x < cl.lo_x || x > cl.hi_x || y < cl.lo_y || y > cl.hi_y) return;
    prefetch_hint(&cl.heads[static_cast<size_t>((y - cl.lo_y) * cl.w + (x - cl.lo_x))]);
  }
  template <typename F>
  bool any(const float* box, F&& fn) const {
    int ex, ey;
    if (!exponents(box, ex, ey)) return false;
    int ex_lo, ex_hi, ey_lo, ey_hi;
    window(box[2] - box[0], ex, ex_lo, ex_hi);
    window(box[3] - box[1], ey, ey_lo, ey_hi);
    const int lx = std::max(class_x(ex_lo), cx_lo_), hx = std::min(class_x(ex_hi), cx_hi_);
    const int ly = std::max(class_y(ey_lo), cy_lo_), hy = std::min(class_y(ey_hi), cy_hi_);
    if (lx > hx || ly > hy) return false;
    ++stamp_;
    auto in_window = [&](int32_t c) {
      const Class& cl = classes_[c];
      return cl.cx >= lx && cl.cx <= hx && cl.cy >= ly && cl.cy <= hy;
    };
    if (tree_) {
      // Descend the occupancy tree from its top level through the present nodes that meet the query; the classes
      // of a node are visited in the node's part of the query only. No class below the window's smallest
      // exponents can hold a reported box, so the walk stops above their level.
      const double top = std::ldexp(1.0, level_top_);
      const int64_t x0 = cell(box[0], top), x1 = cell(box[2], top), y0 = cell(box[1], top), y1 = cell(box[3], top);
      if (x1 - x0 <= 3 && y1 - y0 <= 3) {
        const int stop = std::max(level_min_, std::max(ex_lo, ey_lo) + 1);
        return walk(box, level_top_, stop, x0, x1, y0, y1, in_window, fn);
      }
    }
    if (static_cast<size_t>(hx - lx + 1) * static_cast<size_t>(hy - ly + 1) > used_.size()) {
      for (int32_t c : used_)
        if (in_window(c) && visit(c, box, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, fn)) return true;
      return false;
    }
    for (int x = lx; x <= hx; ++x)
      for (int y = ly; y <= hy; ++y) {
        const int32_t c = class_at_[static_cast<size_t>(x - cx_lo_) * cy_n_ + (y - cy_lo_)];
        if (c >= 0 && !classes_[c].first.empty() && visit(c, box, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, fn))
          return true;
      }
    return false;
  }

 private:
  struct Class {
    int cx = 0, cy = 0;
    double cw = 0, ch = 0;  // cell size: 2^(e+1) for the largest exponents e in the class
    int64_t lo_x = INT64_MAX, hi_x = INT64_MIN, lo_y = INT64_MAX, hi_y = INT64_MIN;  // cells of the prepared boxes
    int64_t reg_lo_x = INT64_MAX, reg_hi_x = INT64_MIN, reg_lo_y = INT64_MAX, reg_hi_y = INT64_MIN;  // registered
    size_t count = 0;                                                                                // prepared boxes
    bool dense = false;  // heads[(y − lo_y)·w + (x − lo_x)], else the hash table
    int64_t w = 0;
    std::vector<int32_t> heads;
    std::vector<int32_t> first;  // one entry per registered box
    int level = 0;               // the tree level of its boxes: log2 of the larger cell side
    mutable uint32_t stamp = 0;  // the query that scanned its whole list
  };
  // Occupancy tree node: the square [x·2^level, (x+1)·2^level) × [y·2^level, (y+1)·2^level). A node exists when a
  // registered box of a class whose level is ≤ level has a cell there (so its parent exists too); `groups` lists
  // the classes of exactly this level with a box there, in up to three groups (wider cells, taller cells, square
  // cells), each group and each class with the bounding rectangle of its boxes registered there, so that
  // classes whose cells are much longer than their boxes (e.g. the boxes of every binade pair nested around one
  // point) are passed over in O(1). Registered nodes' indices fit in 32 bits (grid.cc).
  struct Node {
    int32_t x, y, level, groups;  // level == INT32_MIN: empty slot
  };
  struct Group {
    float bounds[4];
    int32_t kind, head, next;
  };
  struct NodeClass {
    float bounds[4];
    int32_t cls, next;
    int32_t boxes, count;  // the class's boxes registered in the node: a list in node_boxes_, and its length
  };
  struct NodeBox {
    int32_t entry, next;  // one of the box's entries
  };
  struct Entry {
    float xyxy[4];
    float area;
    int32_t box, next;
  };
  struct Slot {
    int64_t x, y;
    int32_t cls, head;  // head < 0: empty slot
  };

  // Calls fn for the registered boxes of class c in the cells that meet `box` within cell columns [bx0, bx1] and
  // rows [by0, by1]; when those cells outnumber the class's boxes, scans the class's list instead (once per query).
  // With `nc` (the class's part of one tree node, whose cells [bx0, bx1] × [by0, by1] are), scans the boxes
  // registered there instead when they are fewer than the cells.
  template <typename F>
  bool visit(int32_t c, const float* box, int64_t bx0, int64_t bx1, int64_t by0, int64_t by1, F& fn,
             const NodeClass* nc = nullptr) const {
    const Class& cl = classes_[c];
    if (cl.first.empty() || cl.stamp == stamp_) return false;
    const int64_t x0 = std::max({cell(box[0], cl.cw), cl.reg_lo_x, bx0});
    const int64_t x1 = std::min({cell(box[2], cl.cw), cl.reg_hi_x, bx1});
    const int64_t y0 = std::max({cell(box[1], cl.ch), cl.reg_lo_y, by0});
    const int64_t y1 = std::min({cell(box[3], cl.ch), cl.reg_hi_y, by1});
    if (x0 > x1 || y0 > y1) return false;
    const double cells = (static_cast<double>(x1) - x0 + 1) * (static_cast<double>(y1) - y0 + 1);
    if (nc && cells > static_cast<double>(nc->count)) {
      for (int32_t k = nc->boxes; k >= 0; k = node_boxes_[k].next) {
        const Entry& e = entries_[node_boxes_[k].entry];
        if (fn(e.box, e.xyxy, e.area)) return true;
      }
      return false;
    }
    if (cells > static_cast<double>(cl.first.size())) {
      cl.stamp = stamp_;  // every box of the class reported: no other part of this query needs it again
      for (int32_t e : cl.first)
        if (fn(entries_[e].box, entries_[e].xyxy, entries_[e].area)) return true;
      return false;
    }
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x)
        for (int32_t e = cl.dense ? cl.heads[static_cast<size_t>((y - cl.lo_y) * cl.w + (x - cl.lo_x))] : head(c, x, y);
             e >= 0; e = entries_[e].next)
          if (fn(entries_[e].box, entries_[e].xyxy, entries_[e].area)) return true;
    return false;
  }
  // The tree below the nodes [x0, x1] × [y0, y1] of `level` (already within the query's range there).
  template <typename W, typename F>
  bool walk(const float* box, int level, int stop, int64_t x0, int64_t x1, int64_t y0, int64_t y1, W& in_window,
            F& fn) const {
    const double below = std::ldexp(1.0, level - 1);
    const int64_t qx0 = cell(box[0], below), qx1 = cell(box[2], below);
    const int64_t qy0 = cell(box[1], below), qy1 = cell(box[3], below);
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x) {
        const Node* node = find_node(level, x, y);
        if (!node) continue;
        for (int32_t g = node->groups; g >= 0; g = groups_[g].next) {
          if (!meets(groups_[g].bounds, box)) continue;
          for (int32_t k = groups_[g].head; k >= 0; k = node_classes_[k].next) {
            const NodeClass& nc = node_classes_[k];
            if (!meets(nc.bounds, box) || !in_window(nc.cls)) continue;
            const Class& cl = classes_[nc.cls];
            // The class's cells inside this node: cell sizes are powers of two no larger than the node.
            const double rx = std::ldexp(1.0, level) / cl.cw, ry = std::ldexp(1.0, level) / cl.ch;
            if (visit(nc.cls, box, scaled(x, rx), scaled(x + 1, rx) - 1, scaled(y, ry), scaled(y + 1, ry) - 1, fn, &nc))
              return true;
          }
        }
        if (level > stop) {
          const int64_t cx0 = std::max(2 * x, qx0), cx1 = std::min(2 * x + 1, qx1);
          const int64_t cy0 = std::max(2 * y, qy0), cy1 = std::min(2 * y + 1, qy1);
          if (cx0 <= cx1 && cy0 <= cy1 && walk(box, level - 1, stop, cx0, cx1, cy0, cy1, in_window, fn)) return true;
        }
      }
    return false;
  }
  // Whether the closed rectangles meet (b finite).
  static bool meets(const float* r, const float* b) {
    return r[0] <= b[2] && b[0] <= r[2] && r[1] <= b[3] && b[1] <= r[3];
  }
  // i·r clamped like cell() (r a power of two).
  static int64_t scaled(int64_t i, double r) {
    return static_cast<int64_t>(std::clamp(static_cast<double>(i) * r, -0x1p62, 0x1p62));
  }

  // ilogb of the width and height of a box that can have IoU > 0 with some box; false when it has IoU 0 with
  // every box.
  static bool exponents(const float* b, int& ex, int& ey);
  static int half(int e) { return e >= 0 ? e / 2 : -((1 - e) / 2); }  // ⌊e/2⌋
  int class_x(int ex) const { return half(ex - px_); }
  int class_y(int ey) const { return half(ey - py_); }
  // Exponents a registered side can have when its box may have IoU > threshold with a query of side v (exponent e).
  void window(float v, int e, int& lo, int& hi) const {
    lo = e - kAllExponents, hi = e + kAllExponents;
    if (rho_ > 0) {  // side ratio > ρ both ways; ilogb is monotone (a product that underflows or overflows: no bound)
      const double small = rho_ * v, large = v / rho_;
      if (small > 0 && small < INFINITY) lo = std::min(std::ilogb(small), hi);
      if (large > 0 && large < INFINITY) hi = std::max(std::ilogb(large), lo);
    }
  }
  static constexpr int kAllExponents = 1 << 20;
  // floor(v / size) as an integer, clamped to ±2^62 (monotone, so intersecting boxes still share a cell).
  static int64_t cell(float v, double size);
  static uint64_t hash(int32_t c, int64_t x, int64_t y);
  int32_t class_of(int ex, int ey) const;
  int32_t head(int32_t c, int64_t x, int64_t y) const;
  int32_t& head_slot(int32_t c, int64_t x, int64_t y);
  void grow();
  const Node* find_node(int level, int64_t x, int64_t y) const {
    if (x < INT32_MIN || x > INT32_MAX || y < INT32_MIN || y > INT32_MAX) return nullptr;
    const size_t mask = nodes_.size() - 1;
    for (size_t i = hash(level, x, y) & mask;; i = (i + 1) & mask) {
      const Node& n = nodes_[i];
      if (n.level == INT32_MIN) return nullptr;
      if (n.x == x && n.y == y && n.level == level) return &n;
    }
  }
  // The node's slot, created if absent (`created` tells).
  size_t node_slot(int level, int64_t x, int64_t y, bool& created);
  void insert_tree(int32_t c, const float* b, int32_t entry);
  void add_to_node(size_t slot, int32_t c, const float* b, int32_t entry);

  const float* boxes_;
  int px_ = 0, py_ = 0;
  double rho_ = 0;  // a box with IoU > threshold has both side ratios > ρ (0: no bound)
  int cx_lo_ = 0, cx_hi_ = -1, cy_lo_ = 0, cy_hi_ = -1, cy_n_ = 0;
  std::vector<int32_t> class_at_;  // [(cx − cx_lo_)·cy_n_ + (cy − cy_lo_)] → index in classes_, or −1
  std::vector<Class> classes_;
  std::vector<int32_t> used_;  // classes with at least one registered box
  std::vector<Slot> slots_;    // hashed classes: open addressing, linear probing, power-of-two size
  size_t filled_ = 0;
  std::vector<Entry> entries_;  // per-cell singly linked lists
  mutable uint32_t stamp_ = 0;  // queries so far
  // The occupancy tree, kept when the window bound ρ is too weak to limit the classes a query visits (small
  // thresholds, t = 0 included); abandoned (queries go back to the class loop) if it outgrows its node budget.
  bool tree_ = false;
  int level_min_ = 0, level_top_ = 0;  // the classes' smallest and largest levels
  size_t node_budget_ = 0;
  std::vector<Node> nodes_;  // open addressing, linear probing, power-of-two size
  size_t nodes_filled_ = 0;
  std::vector<Group> groups_;
  std::vector<NodeClass> node_classes_;
  std::vector<NodeBox> node_boxes_;
};

}  // namespace ssd
