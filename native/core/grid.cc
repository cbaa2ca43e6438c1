#include "grid.h"

#include "../simd/kernels.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ssd {
namespace {

// Side ratio bound. With w, h, a = w·h the float32 values iou_scalar uses, IoU > t implies
// w_k / w_q > ρ and w_q / w_k > ρ (heights alike), because inter ≤ fl(w_k·h_q) and union ≥ a_q·(1 − 3u):
//   ρ = t·(1 − 2⁻²⁰) − 2⁻⁴⁷ when every area is ≥ 2⁻¹⁰⁰ (products rounded with relative error u = 2⁻²⁴),
//   ρ = t/3·(1 − 2⁻²⁰) − 2⁻¹⁰⁰ otherwise (subnormal products are rounded by up to half of 2⁻¹⁴⁹, absolute;
//   the worst case is an intersection of one subnormal unit against areas of about 1/t units).
// ρ ≤ 0 (t = 0 or tiny): no bound.
double side_ratio_bound(double t, bool tiny) {
  if (!(t > 0)) return 0;
  const double rho = tiny ? t / 3 * (1 - 0x1p-20) - 0x1p-100 : t * (1 - 0x1p-20) - 0x1p-47;
  return rho > 0 ? rho : 0;
}

// Boxes are read in score order, scattered in memory: fetch this many ahead.
constexpr size_t kAhead = 16;

}  // namespace

// IoU > 0 with some box needs inter > 0, so w, h > 0 and (inter being ≤ a) a > 0, and a finite union (a < inf).
bool BoxTree::candidate(const float* b) {
  if (!finite_box(b)) return false;
  const float w = b[2] - b[0], h = b[3] - b[1], a = w * h;
  return w > 0 && h > 0 && a > 0 && a < INFINITY;
}

BoxTree::BoxTree(const float* boxes, const int32_t* order, size_t n, double threshold) : boxes_(boxes), order_(order) {
  std::vector<Item> items;
  items.reserve(n);
  bool tiny = false;
  leaf_of_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) prefetch_hint(boxes + 4 * static_cast<size_t>(order[i + kAhead]));
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    if (!candidate(b)) continue;
    if (box_area(b) < 0x1p-100f) tiny = true;
    items.push_back(Item{{b[0], b[1], b[2], b[3]}, static_cast<int32_t>(i)});
  }
  rho_ = side_ratio_bound(threshold, tiny);
  if (items.empty()) return;
  if (items.size() > static_cast<size_t>(INT32_MAX)) throw std::length_error("BoxTree: too many boxes");
  // Median splits down to one depth for every leaf: each holds ⌊n / leaves⌋ or ⌈n / leaves⌉ ≤ cap_ ≤ kLeaf boxes.
  size_t leaves = 1;
  while (leaves * kLeaf < items.size()) leaves *= 2;
  first_leaf_ = static_cast<uint32_t>(leaves - 1);
  cap_ = (items.size() + leaves - 1) / leaves;
  // Children 2k + 1 and 2k + 2 start at an odd index: with node_ + 1 on a 64-byte boundary, each pair fills a line.
  nodes_.assign(2 * leaves + 2, kEmpty);
  node_ = nodes_.data();
  if (reinterpret_cast<uintptr_t>(node_ + 1) % 64) ++node_;
  rect_.resize(leaves * cap_);
  info_.resize(leaves * cap_);
  kept_.assign(leaves, 0);
  build(0, 0, items.size(), items);
}

// Splits items[lo, hi) at its median: on the centres' x or y while the node spans at least twice its widest
// (tallest) box along that axis, else on the widths or heights when they differ by 2× or more, else on the larger
// spread of centres.
void BoxTree::build(size_t k, size_t lo, size_t hi, std::vector<Item>& items) {
  if (k >= first_leaf_) {
    for (size_t s = lo; s < hi; ++s) leaf_of_[static_cast<size_t>(items[s].pos)] = static_cast<int32_t>(k);
    return;
  }
  // The split is chosen from at most 256 of the node's boxes (evenly spaced; any split is correct).
  const size_t step = std::max<size_t>(1, (hi - lo) / 256);
  double cx_lo = INFINITY, cx_hi = -INFINITY, cy_lo = INFINITY, cy_hi = -INFINITY;
  float w_lo = INFINITY, w_hi = 0, h_lo = INFINITY, h_hi = 0;
  for (size_t s = lo; s < hi; s += step) {
    const float* b = items[s].xyxy;
    const double cx = static_cast<double>(b[0]) + b[2], cy = static_cast<double>(b[1]) + b[3];
    const float w = b[2] - b[0], h = b[3] - b[1];
    cx_lo = std::min(cx_lo, cx), cx_hi = std::max(cx_hi, cx), cy_lo = std::min(cy_lo, cy), cy_hi = std::max(cy_hi, cy);
    w_lo = std::min(w_lo, w), w_hi = std::max(w_hi, w), h_lo = std::min(h_lo, h), h_hi = std::max(h_hi, h);
  }
  // Spans in units of the widest box (centre sums are twice the centres).
  const double sx = (cx_hi - cx_lo) / (4.0 * w_hi), sy = (cy_hi - cy_lo) / (4.0 * h_hi);
  const double lw = static_cast<double>(w_hi) / w_lo, lh = static_cast<double>(h_hi) / h_lo;
  int dim;
  if (std::max(sx, sy) >= 1)
    dim = sx >= sy ? 0 : 1;
  else if (std::max(lw, lh) >= 2)
    dim = lw >= lh ? 2 : 3;
  else
    dim = (cx_hi - cx_lo) * h_hi >= (cy_hi - cy_lo) * w_hi ? 0 : 1;
  const size_t mid = lo + (hi - lo + 1) / 2;
  const auto first = items.begin() + static_cast<std::ptrdiff_t>(lo),
             nth = items.begin() + static_cast<std::ptrdiff_t>(mid),
             last = items.begin() + static_cast<std::ptrdiff_t>(hi);
  // Centre sums in float may overflow to ±inf near ±3.4e38: still ordered, which is all a split needs.
  switch (dim) {
    case 0:
      std::nth_element(first, nth, last,
                       [](const Item& a, const Item& b) { return a.xyxy[0] + a.xyxy[2] < b.xyxy[0] + b.xyxy[2]; });
      break;
    case 1:
      std::nth_element(first, nth, last,
                       [](const Item& a, const Item& b) { return a.xyxy[1] + a.xyxy[3] < b.xyxy[1] + b.xyxy[3]; });
      break;
    case 2:
      std::nth_element(first, nth, last,
                       [](const Item& a, const Item& b) { return a.xyxy[2] - a.xyxy[0] < b.xyxy[2] - b.xyxy[0]; });
      break;
    default:
      std::nth_element(first, nth, last,
                       [](const Item& a, const Item& b) { return a.xyxy[3] - a.xyxy[1] < b.xyxy[3] - b.xyxy[1]; });
  }
  build(2 * k + 1, lo, mid, items);
  build(2 * k + 2, mid, hi, items);
}

void BoxTree::insert(size_t i, float score, size_t ids) {
  if (slot_.empty()) slot_.assign(ids, kNotIndexed);
  const int32_t leaf = leaf_of_[i];
  if (leaf < 0) return;
  const size_t s = slot0(static_cast<uint32_t>(leaf)) + kept_[static_cast<size_t>(leaf) - first_leaf_];
  insert(i);
  info_[s].score = score;
  slot_[static_cast<size_t>(order_[i])] = static_cast<int32_t>(s);
}

void BoxTree::insert(size_t i) {
  const int32_t leaf = leaf_of_[i];
  if (leaf < 0) return;
  const int32_t idx = order_[i];
  const float* b = boxes_ + 4 * static_cast<size_t>(idx);
  const float w = b[2] - b[0], h = b[3] - b[1];
  const size_t s = slot0(static_cast<uint32_t>(leaf)) + kept_[static_cast<size_t>(leaf) - first_leaf_]++;
  rect_[s] = Rect{{b[0], b[1], b[2], b[3]}};
  info_[s] = Info{box_area(b), idx, 0.f};
  // Grow the bounds of the leaf and its ancestors; an ancestor that already holds the box ends the walk.
  for (size_t k = static_cast<size_t>(leaf);; k = (k - 1) / 2) {
    Node& nd = node_[k];
    bool grew = false;
    auto lower = [&grew](float& v, float x) {
      if (x < v) v = x, grew = true;
    };
    auto raise = [&grew](float& v, float x) {
      if (x > v) v = x, grew = true;
    };
    lower(nd.x1, b[0]), lower(nd.y1, b[1]), raise(nd.x2, b[2]), raise(nd.y2, b[3]);
    lower(nd.w_min, w), raise(nd.w_max, w), lower(nd.h_min, h), raise(nd.h_max, h);
    if (!grew || k == 0) break;  // bounds never shrink: the ancestors already hold this node's
  }
}

void BoxTree::shrink(size_t k) {
  Node b = kEmpty;
  const size_t s0 = slot0(static_cast<uint32_t>(k)), n = kept_[k - first_leaf_];
  for (size_t c = 0; c < n; ++c) {
    const float* x = rect_[s0 + c].xyxy;
    const float w = x[2] - x[0], h = x[3] - x[1];
    b.x1 = std::min(b.x1, x[0]), b.y1 = std::min(b.y1, x[1]), b.x2 = std::max(b.x2, x[2]), b.y2 = std::max(b.y2, x[3]);
    b.w_min = std::min(b.w_min, w), b.w_max = std::max(b.w_max, w), b.h_min = std::min(b.h_min, h);
    b.h_max = std::max(b.h_max, h);
  }
  node_[k] = b;
  while (k > 0) {
    k = (k - 1) / 2;
    const Node &l = node_[2 * k + 1], &r = node_[2 * k + 2];
    Node& p = node_[k];
    const float x1 = std::min(l.x1, r.x1), y1 = std::min(l.y1, r.y1), x2 = std::max(l.x2, r.x2),
                y2 = std::max(l.y2, r.y2), w_min = std::min(l.w_min, r.w_min), w_max = std::max(l.w_max, r.w_max),
                h_min = std::min(l.h_min, r.h_min), h_max = std::max(l.h_max, r.h_max);
    if (x1 == p.x1 && y1 == p.y1 && x2 == p.x2 && y2 == p.y2 && w_min == p.w_min && w_max == p.w_max &&
        h_min == p.h_min && h_max == p.h_max)
      break;
    p.x1 = x1, p.y1 = y1, p.x2 = x2, p.y2 = y2, p.w_min = w_min, p.w_max = w_max, p.h_min = h_min, p.h_max = h_max;
  }
}

}  // namespace ssd
