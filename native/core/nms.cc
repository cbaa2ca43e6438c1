#include "nms.h"

#include <algorithm>
#include <cmath>

#include "../simd/dispatch.h"
#include "sort.h"

namespace ssd {
namespace {

inline bool finite_box(const float* b) {
  return std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]);
}

size_t limit(int64_t v, size_t n) { return v < 0 ? n : std::min(static_cast<size_t>(v), n); }

// From this many candidates on, greedy NMS indexes the kept boxes in a uniform grid, so inputs where most
// boxes survive (e.g. 10^6 small disjoint boxes) stay near-linear instead of quadratic.
constexpr size_t kGridMinBoxes = 16384;
constexpr int kGridMax = 512;        // at most 512×512 cells
constexpr int kMaxCellsPerBox = 64;  // larger boxes go to a list every candidate checks

// Exact: IoU > threshold >= 0 needs a positive-area intersection, and two boxes that intersect so share a
// cell (every kept box is registered in every cell it covers). Same float32 IoU as the vector kernels.
}  // namespace

void greedy_nms_grid(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                     std::vector<int32_t>& keep) {
  float lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
  std::vector<float> sides;
  for (size_t i = 0; i < n; ++i) {
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    if (!finite_box(b)) continue;
    lo_x = std::min(lo_x, b[0]), lo_y = std::min(lo_y, b[1]), hi_x = std::max(hi_x, b[2]), hi_y = std::max(hi_y, b[3]);
    if (sides.size() < 4096) sides.push_back(std::max(b[2] - b[0], b[3] - b[1]));
  }
  double cell = 1;
  if (!sides.empty()) {
    std::nth_element(sides.begin(), sides.begin() + sides.size() / 2, sides.end());
    cell = std::max<double>(sides[sides.size() / 2], 1e-30);
  }
  const double span = std::max<double>(hi_x - lo_x, hi_y - lo_y);
  if (std::isfinite(span) && span / cell > kGridMax) cell = span / kGridMax;
  const int gw = std::isfinite(span) ? std::min(kGridMax, static_cast<int>((hi_x - lo_x) / cell) + 1) : 1;
  const int gh = std::isfinite(span) ? std::min(kGridMax, static_cast<int>((hi_y - lo_y) / cell) + 1) : 1;
  auto cx = [&](float x) { return std::clamp(static_cast<int>((x - lo_x) / cell), 0, gw - 1); };
  auto cy = [&](float y) { return std::clamp(static_cast<int>((y - lo_y) / cell), 0, gh - 1); };
  std::vector<std::vector<int32_t>> cells(static_cast<size_t>(gw) * gh);
  std::vector<int32_t> big;  // kept boxes covering more than kMaxCellsPerBox cells
  auto suppressed_by = [&](const float* b, float area, int32_t j) {
    const float* k = boxes + 4 * static_cast<size_t>(j);
    return static_cast<double>(iou_scalar(k, box_area(k), b, area)) > threshold;
  };
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < max_out; ++i) {
    const int32_t idx = order[i];
    const float* b = boxes + 4 * static_cast<size_t>(idx);
    if (!finite_box(b)) {
      keep.push_back(idx), ++kept;
      continue;
    }
    const float area = box_area(b);
    const int x0 = cx(b[0]), x1 = cx(b[2]), y0 = cy(b[1]), y1 = cy(b[3]);
    bool hit = false;
    for (size_t t = 0; t < big.size() && !hit; ++t) hit = suppressed_by(b, area, big[t]);
    for (int y = y0; y <= y1 && !hit; ++y)
      for (int x = x0; x <= x1 && !hit; ++x)
        for (int32_t j : cells[static_cast<size_t>(y) * gw + x])
          if ((hit = suppressed_by(b, area, j))) break;
    if (hit) continue;
    keep.push_back(idx), ++kept;
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > kMaxCellsPerBox) big.push_back(idx);
    else
      for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) cells[static_cast<size_t>(y) * gw + x].push_back(idx);
  }
}

void greedy_nms(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                std::vector<int32_t>& keep, NmsWorkspace& ws) {
  if (n >= kGridMinBoxes) return greedy_nms_grid(boxes, order, n, threshold, max_out, keep);
  greedy_nms_linear(boxes, order, n, threshold, max_out, keep, ws);
}

void greedy_nms_linear(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                       std::vector<int32_t>& keep, NmsWorkspace& ws) {
  BoxSoA& k = ws.kept;
  if (k.x1.size() < n)
    for (auto* v : {&k.x1, &k.y1, &k.x2, &k.y2, &k.area}) v->resize(n);
  KeptBoxes view{k.x1.data(), k.y1.data(), k.x2.data(), k.y2.data(), k.area.data(), 0};
  const Kernels& kern = kernels();
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < max_out; ++i) {
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    if (!finite_box(b)) {
      keep.push_back(order[i]), ++kept;
      continue;
    }
    const float area = box_area(b);
    if (kern.any_iou_above(b, area, view, threshold)) continue;
    const size_t c = view.count++;
    k.x1[c] = b[0], k.y1[c] = b[1], k.x2[c] = b[2], k.y2[c] = b[3], k.area[c] = area;
    keep.push_back(order[i]), ++kept;
  }
}

std::vector<int32_t> nms(const float* boxes, const float* scores, size_t n, double iou_threshold, float score_threshold,
                         int64_t top_k, int64_t max_out) {
  std::vector<int32_t> order;
  sorted_indices_above(scores, n, score_threshold, order);
  order.resize(limit(top_k, order.size()));
  std::vector<int32_t> keep;
  NmsWorkspace ws;
  greedy_nms(boxes, order.data(), order.size(), iou_threshold, limit(max_out, order.size()), keep, ws);
  return keep;
}

std::vector<int32_t> batched_nms(const float* boxes, const float* scores, const int32_t* class_ids, size_t n,
                                 double iou_threshold, float score_threshold, int64_t max_out) {
  std::vector<int32_t> order;
  sorted_indices_above(scores, n, score_threshold, order);
  // Group by class keeping the score order inside each class.
  std::stable_sort(order.begin(), order.end(), [class_ids](int32_t a, int32_t b) { return class_ids[a] < class_ids[b]; });
  std::vector<int32_t> keep;
  NmsWorkspace ws;
  for (size_t s = 0; s < order.size();) {
    size_t e = s + 1;
    while (e < order.size() && class_ids[order[e]] == class_ids[order[s]]) ++e;
    greedy_nms(boxes, order.data() + s, e - s, iou_threshold, e - s, keep, ws);
    s = e;
  }
  sort_by_score_desc(scores, keep);
  keep.resize(limit(max_out, keep.size()));
  return keep;
}

void soft_nms(const float* boxes, const float* scores, size_t n, float sigma, double iou_threshold,
              float score_threshold, int64_t max_out, std::vector<int32_t>& indices, std::vector<float>& out_scores) {
  std::vector<int32_t> alive;
  sorted_indices_above(scores, n, score_threshold, alive);
  std::vector<float> cur(scores, scores + n);
  const size_t cap = limit(max_out, alive.size());
  while (!alive.empty() && indices.size() < cap) {
    size_t best = 0;
    for (size_t i = 1; i < alive.size(); ++i) {
      const int32_t a = alive[i], b = alive[best];
      if (cur[a] > cur[b] || (cur[a] == cur[b] && a < b)) best = i;
    }
    const int32_t m = alive[best];
    indices.push_back(m);
    out_scores.push_back(cur[m]);
    alive.erase(alive.begin() + best);
    const float* bm = boxes + 4 * static_cast<size_t>(m);
    const bool fm = finite_box(bm);
    const float am = box_area(bm);
    size_t w = 0;
    for (size_t i = 0; i < alive.size(); ++i) {
      const int32_t j = alive[i];
      const float* bj = boxes + 4 * static_cast<size_t>(j);
      const float iou = fm && finite_box(bj) ? iou_scalar(bm, am, bj, box_area(bj)) : 0.f;
      if (iou_threshold < 0 || static_cast<double>(iou) > iou_threshold) cur[j] *= std::exp(-(iou * iou) / sigma);
      if (cur[j] > score_threshold) alive[w++] = j;
    }
    alive.resize(w);
  }
}

}  // namespace ssd
