#include "loss.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "../simd/dispatch.h"
#include "box_coder.h"
#include "matcher.h"
#include "sort.h"

namespace ssd {

void softmax_cross_entropy(const float* logits, const int32_t* targets, size_t n, size_t c, float* out) {
  for (size_t r = 0; r < n; ++r)
    if (targets[r] < 0 || static_cast<size_t>(targets[r]) >= c)
      throw InvalidArgument("target class " + std::to_string(targets[r]) + " outside [0, " + std::to_string(c) + ")");
  // Row max and Σ exp(x − max) from the SIMD kernel (same sums as the softmax), then CE = −((x_t − max) − log Σ).
  std::vector<float> maxes(n), sums(n);
  kernels().exp_sums(logits, maxes.data(), sums.data(), n, c);
  for (size_t r = 0; r < n; ++r) {
    const float log_sum = static_cast<float>(std::log(static_cast<double>(sums[r])));
    out[r] = -((logits[r * c + static_cast<size_t>(targets[r])] - maxes[r]) - log_sum);
  }
}

double smooth_l1_sum(const float* pred, const float* target, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    const float z = std::fabs(pred[i] - target[i]);
    s += static_cast<double>(z < 1.f ? 0.5f * z * z : z - 0.5f);
  }
  return s;
}

std::vector<int32_t> hard_negatives(const float* loss, const uint8_t* positive, size_t n, double neg_pos_ratio) {
  size_t num_pos = 0;
  for (size_t i = 0; i < n; ++i) num_pos += positive[i] != 0;
  const size_t num_bg = n - num_pos;
  if (num_pos == 0 || num_bg == 0) return {};
  // torch: num_negative = ratio · num_foreground as a float32 tensor; rank < num_negative selects ⌈that⌉ ranks.
  const double want = std::ceil(static_cast<double>(static_cast<float>(num_pos) * static_cast<float>(neg_pos_ratio)));
  const size_t k = !(want < static_cast<double>(num_bg)) ? num_bg : static_cast<size_t>(want);  // NaN → all (ratio ≥ 0)
  if (k == 0) return {};
  // key: desc_key(loss) << 32 | index; ascending keys = decreasing loss, ties by ascending index; NaN first (key 0).
  std::vector<uint64_t> keys;
  keys.reserve(num_bg);
  for (size_t i = 0; i < n; ++i) {
    if (positive[i]) continue;
    const uint64_t key = std::isnan(loss[i]) ? 0u : desc_key(loss[i]);
    keys.push_back(key << 32 | static_cast<uint32_t>(i));
  }
  if (k < keys.size()) std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(k - 1), keys.end());
  std::vector<int32_t> out(k);
  for (size_t j = 0; j < k; ++j) out[j] = static_cast<int32_t>(static_cast<uint32_t>(keys[j]));
  std::sort(out.begin(), out.end());
  return out;
}

LossParts ssd_loss_parts(const LossImage& img, const LossParams& p) {
  const size_t n = img.n, c = img.c, m = img.m;
  for (size_t j = 0; j < m; ++j)
    if (img.gt_labels[j] < 0 || static_cast<size_t>(img.gt_labels[j]) >= c)
      throw InvalidArgument("gt label " + std::to_string(img.gt_labels[j]) + " outside [0, " + std::to_string(c) + ")");
  LossParts r;
  r.matched.resize(n);
  match_anchors(img.gt_boxes, m, img.anchors, n, img.anchors_cxcywh, p.iou_threshold, true, r.matched.data());

  std::vector<int32_t> targets(n, 0);
  std::vector<uint8_t> positive(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (r.matched[i] < 0) continue;
    r.foreground.push_back(static_cast<int32_t>(i));
    targets[i] = img.gt_labels[r.matched[i]];
    positive[i] = targets[i] > 0;
    r.num_positive += positive[i];
  }

  // Regression targets and smooth-L1 over the foreground anchors.
  const size_t f = r.foreground.size();
  std::vector<float> gt_f(4 * f), anchors_f(4 * f), pred_f(4 * f);
  for (size_t q = 0; q < f; ++q) {
    const size_t i = static_cast<size_t>(r.foreground[q]), g = static_cast<size_t>(r.matched[i]);
    std::copy_n(img.gt_boxes + 4 * g, 4, gt_f.data() + 4 * q);
    std::copy_n(img.anchors + 4 * i, 4, anchors_f.data() + 4 * q);
    std::copy_n(img.bbox_regression + 4 * i, 4, pred_f.data() + 4 * q);
  }
  r.encoded.resize(4 * f);
  encode_boxes(gt_f.data(), anchors_f.data(), img.anchors_cxcywh, f, p.coder, r.encoded.data());
  r.smooth_l1_sum = smooth_l1_sum(pred_f.data(), r.encoded.data(), 4 * f);

  // Classification: cross-entropy per anchor, positives and mined negatives.
  r.cls_loss.resize(n);
  softmax_cross_entropy(img.cls_logits, targets.data(), n, c, r.cls_loss.data());
  for (size_t i = 0; i < n; ++i)
    if (positive[i]) r.positive_cls_sum += static_cast<double>(r.cls_loss[i]);
  r.hard_negatives = hard_negatives(r.cls_loss.data(), positive.data(), n, p.neg_pos_ratio);
  for (const int32_t i : r.hard_negatives)
    r.hard_negative_cls_sum += static_cast<double>(r.cls_loss[static_cast<size_t>(i)]);
  return r;
}

}  // namespace ssd
