// Non-maximum suppression with torchvision's semantics: greedy by decreasing score (ties → lower index),
// drop a box when its float32 IoU with a kept box is > threshold (strict, compared in double).
#pragma once
#include <vector>
#include "iou.h"
#include "types.h"

namespace ssd {

struct NmsWorkspace {
  BoxSoA kept;  // capacity grows as needed
};

// Greedy NMS over `order` (indices into boxes [*,4] xyxy, already in priority order). Appends kept indices
// to `keep`, at most max_out of them. A box with a non-finite coordinate has IoU 0 with everything: it is
// kept and suppresses nothing.
void greedy_nms(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                std::vector<int32_t>& keep, NmsWorkspace& ws);

// The two strategies greedy_nms picks between (exposed for tests): every candidate against the kept boxes with
// the SIMD kernel, or against the kept boxes a BoxTree (grid.h) reports (chosen from 16384 candidates on). Same
// result; the tree path is O(n log n) to build and about O(log n) per candidate whatever the layout.
void greedy_nms_linear(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                       std::vector<int32_t>& keep, NmsWorkspace& ws);
void greedy_nms_grid(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                     std::vector<int32_t>& keep);

// nms(): score filter (> score_threshold, NaN dropped), optional top_k before NMS (-1 = all), max_out (-1 = all).
std::vector<int32_t> nms(const float* boxes, const float* scores, size_t n, double iou_threshold, float score_threshold,
                         int64_t top_k, int64_t max_out);

// Per-class NMS; result sorted by decreasing score, ties by ascending index; max_out (-1 = all).
std::vector<int32_t> batched_nms(const float* boxes, const float* scores, const int32_t* class_ids, size_t n,
                                 double iou_threshold, float score_threshold, int64_t max_out);

// Gaussian soft-NMS (Bodla et al. 2017): pick the highest current score (ties → lower index), multiply every
// remaining score by exp(-IoU²/sigma), drop those <= score_threshold; with iou_threshold >= 0 only boxes with
// IoU > iou_threshold are decayed. Work O((n + d) log n) for d decays (pairs that overlap when the first is
// picked): near-linear unless Θ(n²) pairs overlap, which no index can avoid.
void soft_nms(const float* boxes, const float* scores, size_t n, float sigma, double iou_threshold,
              float score_threshold, int64_t max_out, std::vector<int32_t>& indices, std::vector<float>& out_scores);

// Test and fuzzing knob (process-wide; not to be changed while NMS runs on other threads): the number of
// candidates from which greedy NMS (default 16384) and soft-NMS (default 513) query a BoxTree; 0 restores both
// defaults. Results never depend on it.
void set_grid_min_boxes_for_testing(size_t greedy_min, size_t soft_min);

// soft_nms with its strategy forced (exposed for tests and fuzzing): scan the candidates for each pick
// (`use_grid` false) or query a BoxTree of them (soft_nms picks the tree above 512 candidates). Same result.
void soft_nms_with(bool use_grid, const float* boxes, const float* scores, size_t n, float sigma, double iou_threshold,
                   float score_threshold, int64_t max_out, std::vector<int32_t>& indices,
                   std::vector<float>& out_scores);

}  // namespace ssd
