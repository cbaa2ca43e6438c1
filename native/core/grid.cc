#include "grid.h"

#include "../simd/kernels.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace ssd {
namespace {

// Side ratio bound. With w, h, a = w·h the float32 values iou_scalar uses, IoU > t implies
// w_k / w_q > ρ and w_q / w_k > ρ (heights alike), because inter ≤ fl(w_k·h_q) and union ≥ a_q·(1 − 3u):
//   ρ = t·(1 − 2⁻²⁰) − 2⁻⁴⁷ when every area is ≥ 2⁻¹⁰⁰ (products rounded with relative error u = 2⁻²⁴),
//   ρ = t/3·(1 − 2⁻²⁰) − 2⁻¹⁰⁰ otherwise (subnormal products are rounded by up to half of 2⁻¹⁴⁹, absolute;
//   the worst case is an intersection of one subnormal unit against areas of about 1/t units).
// ρ ≤ 0 (t = 0 or tiny): no bound.
// Boxes are read in score order, scattered in memory: fetch this many ahead.
constexpr size_t kAhead = 16;

// Below this window bound a query could visit many classes: queries walk the occupancy tree instead.
constexpr double kTreeRho = 1.0 / 8;
// ... and when the classes span this many levels (sizes 16× apart): otherwise the class loop is cheaper.
constexpr int kTreeLevels = 4;

double side_ratio_bound(double t, bool tiny) {
  if (!(t > 0)) return 0;
  const double rho = tiny ? t / 3 * (1 - 0x1p-20) - 0x1p-100 : t * (1 - 0x1p-20) - 0x1p-47;
  return rho > 0 ? rho : 0;
}

// ilogb of a positive finite float, from its bits when normal.
int exponent(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const int e = static_cast<int>((bits >> 23) & 0xff);
  return e ? e - 127 : std::ilogb(v);
}

}  // namespace

bool BoxGrid::exponents(const float* b, int& ex, int& ey) {
  if (!finite_box(b)) return false;
  const float w = b[2] - b[0], h = b[3] - b[1], a = w * h;  // as box_area and iou_scalar compute them
  // IoU > 0 needs inter > 0 (so w, h > 0 and, inter being ≤ a, a > 0) and a finite union (a < inf).
  if (!(w > 0 && h > 0 && a > 0 && a < INFINITY)) return false;
  ex = exponent(w), ey = exponent(h);
  return true;
}

int64_t BoxGrid::cell(float v, double size) {
  const double q = std::floor(static_cast<double>(v) / size);  // exact: size is a power of two, v a float
  return static_cast<int64_t>(std::clamp(q, -0x1p62, 0x1p62));
}

uint64_t BoxGrid::hash(int32_t c, int64_t x, int64_t y) {
  uint64_t h = static_cast<uint64_t>(x) * 0x9E3779B97F4A7C15ull;
  h ^= (static_cast<uint64_t>(y) + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  h ^= static_cast<uint64_t>(static_cast<uint32_t>(c)) * 0x165667B19E3779F9ull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

BoxGrid::BoxGrid(const float* boxes, const int32_t* order, size_t n, double threshold) : boxes_(boxes) {
  // Exponent histograms (float exponents are in [−149, 127]) choose the parities.
  constexpr int kBias = 160;
  std::vector<size_t> hist_x(320, 0), hist_y(320, 0);
  bool tiny = false;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) prefetch_hint(boxes + 4 * static_cast<size_t>(order[i + kAhead]));
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    int ex, ey;
    if (!exponents(b, ex, ey)) continue;
    ++hist_x[static_cast<size_t>(ex + kBias)], ++hist_y[static_cast<size_t>(ey + kBias)];
    if (box_area(b) < 0x1p-100f) tiny = true;
  }
  rho_ = side_ratio_bound(threshold, tiny);
  // Parity with fewer non-empty classes; on a tie, the one with the fuller largest class.
  auto parity = [&](const std::vector<size_t>& h) {
    size_t best_classes = SIZE_MAX, best_max = 0;
    int best = 0;
    for (int p = 0; p < 2; ++p) {
      size_t classes = 0, largest = 0;
      for (int e = p; e + 1 < 320; e += 2) {
        const size_t c = h[static_cast<size_t>(e)] + h[static_cast<size_t>(e + 1)];
        classes += c > 0, largest = std::max(largest, c);
      }
      if (classes < best_classes || (classes == best_classes && largest > best_max))
        best = p, best_classes = classes, best_max = largest;
    }
    return best;  // the class of e is ⌊(e − kBias − best)/2⌋ + const; kBias is even
  };
  px_ = parity(hist_x), py_ = parity(hist_y);
  int cx_lo = INT_MAX, cx_hi = INT_MIN, cy_lo = INT_MAX, cy_hi = INT_MIN;
  for (int e = 0; e < 320; ++e) {
    if (hist_x[static_cast<size_t>(e)])
      cx_lo = std::min(cx_lo, class_x(e - kBias)), cx_hi = std::max(cx_hi, class_x(e - kBias));
    if (hist_y[static_cast<size_t>(e)])
      cy_lo = std::min(cy_lo, class_y(e - kBias)), cy_hi = std::max(cy_hi, class_y(e - kBias));
  }
  if (cx_lo > cx_hi) return;  // nothing can overlap anything
  cx_lo_ = cx_lo, cx_hi_ = cx_hi, cy_lo_ = cy_lo, cy_hi_ = cy_hi, cy_n_ = cy_hi - cy_lo + 1;
  class_at_.assign(static_cast<size_t>(cx_hi - cx_lo + 1) * cy_n_, -1);  // ≤ 139² (float exponents / 2)
  // Classes and their cell sizes, then the range of cells their boxes cover: a compact range gets a dense array.
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) prefetch_hint(boxes + 4 * static_cast<size_t>(order[i + kAhead]));
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    int ex, ey;
    if (!exponents(b, ex, ey)) continue;
    const int cx = class_x(ex), cy = class_y(ey);
    int32_t& c = class_at_[static_cast<size_t>(cx - cx_lo_) * cy_n_ + (cy - cy_lo_)];
    if (c < 0) {
      c = static_cast<int32_t>(classes_.size());
      classes_.emplace_back();
      classes_.back().cx = cx, classes_.back().cy = cy;
    }
    Class& cl = classes_[c];
    cl.cw = std::max(cl.cw, std::ldexp(1.0, ex + 1)), cl.ch = std::max(cl.ch, std::ldexp(1.0, ey + 1));
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) prefetch_hint(boxes + 4 * static_cast<size_t>(order[i + kAhead]));
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    int ex, ey;
    if (!exponents(b, ex, ey)) continue;
    Class& cl = classes_[class_of(ex, ey)];
    ++cl.count;
    cl.lo_x = std::min(cl.lo_x, cell(b[0], cl.cw)), cl.hi_x = std::max(cl.hi_x, cell(b[2], cl.cw));
    cl.lo_y = std::min(cl.lo_y, cell(b[1], cl.ch)), cl.hi_y = std::max(cl.hi_y, cell(b[3], cl.ch));
  }
  bool hashed = false;
  for (Class& cl : classes_) {
    const double cells = (static_cast<double>(cl.hi_x) - cl.lo_x + 1) * (static_cast<double>(cl.hi_y) - cl.lo_y + 1);
    cl.dense = cells <= 32.0 * static_cast<double>(cl.count) + 64;  // ≤ 128 bytes per box + 256 per class
    if (cl.dense) {
      cl.w = cl.hi_x - cl.lo_x + 1;
      cl.heads.assign(static_cast<size_t>(cells), -1);
    } else {
      hashed = true;
    }
  }
  if (hashed) slots_.assign(1024, Slot{0, 0, -1, -1});
  // The occupancy tree, when the window bound leaves many classes to visit and there are several levels.
  level_min_ = INT_MAX, level_top_ = INT_MIN;
  for (Class& cl : classes_) {
    cl.level = std::max(std::ilogb(cl.cw), std::ilogb(cl.ch));
    level_min_ = std::min(level_min_, cl.level), level_top_ = std::max(level_top_, cl.level);
  }
  tree_ = rho_ < kTreeRho && level_top_ - level_min_ >= kTreeLevels;
  if (tree_) {
    node_budget_ = 6 * n + 4096;
    nodes_.assign(1024, Node{0, 0, INT32_MIN, -1});
  }
}

int32_t BoxGrid::class_of(int ex, int ey) const {
  const int cx = class_x(ex), cy = class_y(ey);
  if (cx < cx_lo_ || cx > cx_hi_ || cy < cy_lo_ || cy > cy_hi_) throw std::logic_error("BoxGrid: box was not prepared");
  const int32_t c = class_at_[static_cast<size_t>(cx - cx_lo_) * cy_n_ + (cy - cy_lo_)];
  if (c < 0) throw std::logic_error("BoxGrid: box was not prepared");
  return c;
}

int32_t BoxGrid::head(int32_t c, int64_t x, int64_t y) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash(c, x, y) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.head < 0) return -1;
    if (s.x == x && s.y == y && s.cls == c) return s.head;
  }
}

void BoxGrid::grow() {
  std::vector<Slot> old(slots_.size() * 2, Slot{0, 0, -1, -1});
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.head < 0) continue;
    size_t i = hash(s.cls, s.x, s.y) & mask;
    while (slots_[i].head >= 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

size_t BoxGrid::node_slot(int level, int64_t x, int64_t y, bool& created) {
  if ((nodes_filled_ + 1) * 4 > nodes_.size() * 3) {  // load ≤ 3/4
    std::vector<Node> old(nodes_.size() * 2, Node{0, 0, INT32_MIN, -1});
    old.swap(nodes_);
    const size_t mask = nodes_.size() - 1;
    for (const Node& n : old) {
      if (n.level == INT32_MIN) continue;
      size_t i = hash(n.level, n.x, n.y) & mask;
      while (nodes_[i].level != INT32_MIN) i = (i + 1) & mask;
      nodes_[i] = n;
    }
  }
  const size_t mask = nodes_.size() - 1;
  size_t i = hash(level, x, y) & mask;
  while (nodes_[i].level != INT32_MIN && !(nodes_[i].x == x && nodes_[i].y == y && nodes_[i].level == level))
    i = (i + 1) & mask;
  created = nodes_[i].level == INT32_MIN;
  if (created) nodes_[i] = Node{static_cast<int32_t>(x), static_cast<int32_t>(y), level, -1}, ++nodes_filled_;
  return i;
}

namespace {
void grow_bounds(float* r, const float* b) {
  r[0] = std::min(r[0], b[0]), r[1] = std::min(r[1], b[1]), r[2] = std::max(r[2], b[2]), r[3] = std::max(r[3], b[3]);
}
}  // namespace

void BoxGrid::add_to_node(size_t slot, int32_t c, const float* b, int32_t entry) {
  const Class& cl = classes_[c];
  const int32_t kind = cl.cw > cl.ch ? 0 : cl.cw < cl.ch ? 1 : 2;
  int32_t g = nodes_[slot].groups;
  while (g >= 0 && groups_[g].kind != kind) g = groups_[g].next;
  if (g < 0) {
    groups_.push_back(Group{{b[0], b[1], b[2], b[3]}, kind, -1, nodes_[slot].groups});
    g = nodes_[slot].groups = static_cast<int32_t>(groups_.size() - 1);
  }
  grow_bounds(groups_[g].bounds, b);
  int32_t k = groups_[g].head;
  while (k >= 0 && node_classes_[k].cls != c) k = node_classes_[k].next;
  if (k >= 0) {
    grow_bounds(node_classes_[k].bounds, b);
  } else {
    node_classes_.push_back(NodeClass{{b[0], b[1], b[2], b[3]}, c, groups_[g].head, -1, 0});
    k = groups_[g].head = static_cast<int32_t>(node_classes_.size() - 1);
  }
  node_boxes_.push_back(NodeBox{entry, node_classes_[k].boxes});
  node_classes_[k].boxes = static_cast<int32_t>(node_boxes_.size() - 1), ++node_classes_[k].count;
}

// A registered box's cell indices at its class's level and above fit in 32 bits: its side w (float32 rounded)
// is < 2^level and a coordinate v with |v| > 2^25·w cannot have a neighbour float at distance w, so
// |v| / 2^level < 2^25. The box covers at most 2 × 2 nodes per level (its sides are < 2^level).
void BoxGrid::insert_tree(int32_t c, const float* b, int32_t entry) {
  const int level = classes_[c].level;
  for (int lv = level; lv <= level_top_; ++lv) {
    const double size = std::ldexp(1.0, lv);
    const int64_t x0 = cell(b[0], size), x1 = cell(b[2], size), y0 = cell(b[1], size), y1 = cell(b[3], size);
    if (x0 < -0x40000000ll || x1 > 0x40000000ll || y0 < -0x40000000ll || y1 > 0x40000000ll)
      throw std::logic_error("BoxGrid: tree cell out of range");
    bool fresh = false;
    for (int64_t y = y0; y <= y1; ++y)
      for (int64_t x = x0; x <= x1; ++x) {
        bool created;
        const size_t s = node_slot(lv, x, y, created);
        fresh |= created;
        if (lv == level) add_to_node(s, c, b, entry);
      }
    if (!fresh) break;  // these nodes existed, so did their ancestors
  }
  if (nodes_filled_ > node_budget_) {  // a sparse layout over many levels: back to the class loop
    tree_ = false;
    std::vector<Node>().swap(nodes_);
    std::vector<Group>().swap(groups_);
    std::vector<NodeClass>().swap(node_classes_);
    std::vector<NodeBox>().swap(node_boxes_);
  }
}

int32_t& BoxGrid::head_slot(int32_t c, int64_t x, int64_t y) {
  Class& cl = classes_[c];
  if (cl.dense) {
    if (x < cl.lo_x || x > cl.hi_x || y < cl.lo_y || y > cl.hi_y)
      throw std::logic_error("BoxGrid: box was not prepared");
    return cl.heads[static_cast<size_t>((y - cl.lo_y) * cl.w + (x - cl.lo_x))];
  }
  if ((filled_ + 1) * 2 > slots_.size()) grow();
  const size_t mask = slots_.size() - 1;
  size_t i = hash(c, x, y) & mask;
  while (slots_[i].head >= 0 && !(slots_[i].x == x && slots_[i].y == y && slots_[i].cls == c)) i = (i + 1) & mask;
  Slot& s = slots_[i];
  if (s.head < 0) s = Slot{x, y, c, -1}, ++filled_;
  return s.head;
}

void BoxGrid::insert(int32_t idx) {
  const float* b = boxes_ + 4 * static_cast<size_t>(idx);
  int ex, ey;
  if (!exponents(b, ex, ey)) return;
  const int32_t c = class_of(ex, ey);
  Class& cl = classes_[c];
  if (cl.cw < std::ldexp(1.0, ex + 1) || cl.ch < std::ldexp(1.0, ey + 1))
    throw std::logic_error("BoxGrid: box was not prepared");
  // w < 2^(ex+1) ≤ the cell width: at most two columns (and two rows).
  const int64_t x0 = cell(b[0], cl.cw), x1 = cell(b[2], cl.cw), y0 = cell(b[1], cl.ch), y1 = cell(b[3], cl.ch);
  if (entries_.size() + 4 > static_cast<size_t>(INT32_MAX)) throw std::length_error("BoxGrid: too many boxes");
  if (cl.first.empty()) used_.push_back(c);
  cl.first.push_back(static_cast<int32_t>(entries_.size()));
  cl.reg_lo_x = std::min(cl.reg_lo_x, x0), cl.reg_hi_x = std::max(cl.reg_hi_x, x1);
  cl.reg_lo_y = std::min(cl.reg_lo_y, y0), cl.reg_hi_y = std::max(cl.reg_hi_y, y1);
  for (int64_t y = y0; y <= y1; ++y)
    for (int64_t x = x0; x <= x1; ++x) {
      int32_t& h = head_slot(c, x, y);
      entries_.push_back(Entry{{b[0], b[1], b[2], b[3]}, box_area(b), idx, h});
      h = static_cast<int32_t>(entries_.size() - 1);
    }
  if (tree_) insert_tree(c, b, cl.first.back());
}

}  // namespace ssd
