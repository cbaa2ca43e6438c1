// The discrete and per-anchor parts of torchvision's SSD loss (SSD.compute_loss) for one image: softmax
// cross-entropy per anchor, smooth-L1 of the box regression, hard negative mining. The batch reduction
// (divide by max(1, total foreground)) is left to the caller.
#pragma once
#include <cstdint>
#include <vector>
#include "types.h"

namespace ssd {

// out[i] = −log_softmax(logits[i, :])[targets[i]] for n rows of c logits, in torch's operation order:
// m = max (NaN if any logit is NaN), s = Σ exp(x − m) with SLEEF expf summed in 8 lanes combined pairwise (in
// order below 8 columns: the softmax kernels' order), log(s) computed in double and rounded once, and
// out = −((x_t − m) − log s). Throws InvalidArgument when a target is outside [0, c).
void softmax_cross_entropy(const float* logits, const int32_t* targets, size_t n, size_t c, float* out);

// Σ over all elements of smooth-L1(pred − target), beta = 1: 0.5·z² if |z| < 1 else |z| − 0.5 (per element in
// float32, summed in double in index order).
double smooth_l1_sum(const float* pred, const float* target, size_t n);

// Hard negative mining: of the anchors with positive[i] == 0 ("background"), the k with the largest loss,
// k = min(#background, ⌈float32(#positive · negPosRatio)⌉) (0 when there is no positive). Order of the ranking:
// NaN first, then decreasing loss, equal losses → lower index. Returns the chosen indices ascending.
std::vector<int32_t> hard_negatives(const float* loss, const uint8_t* positive, size_t n, double neg_pos_ratio);

struct LossImage {
  const float* cls_logits;       // [n, c]
  const float* bbox_regression;  // [n, 4] deltas in coder order
  const float* anchors;          // [n, 4] xyxy (or cxcywh), same units as gt_boxes
  bool anchors_cxcywh;
  size_t n, c;
  const float* gt_boxes;     // [m, 4] xyxy
  const int32_t* gt_labels;  // [m], each in [0, c)
  size_t m;
};

struct LossParams {
  float iou_threshold = 0.5f;
  double neg_pos_ratio = 3.0;
  CoderParams coder;
};

struct LossParts {
  std::vector<int32_t> matched;         // [n] gt index or −1 (match_anchors, low-quality matches allowed)
  std::vector<int32_t> foreground;      // anchors with matched >= 0, ascending
  std::vector<float> encoded;           // [foreground, 4] coder deltas of the matched gt against the anchor
  std::vector<float> cls_loss;          // [n] cross-entropy against target = label of the matched gt, else 0
  std::vector<int32_t> hard_negatives;  // ascending
  double smooth_l1_sum = 0, positive_cls_sum = 0, hard_negative_cls_sum = 0;
  size_t num_positive = 0;  // anchors whose target class is > 0
};

// Everything torchvision's compute_loss computes for one image before the batch reduction.
LossParts ssd_loss_parts(const LossImage& img, const LossParams& p);

}  // namespace ssd
