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

}  // namespace

void greedy_nms(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
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
