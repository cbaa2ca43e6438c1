// Anchor ↔ ground-truth matching with torchvision's SSDMatcher semantics (training targets of an SSD).
#pragma once
#include <cstdint>
#include "types.h"

namespace ssd {

// Value of an anchor matched to no ground-truth box (torchvision Matcher.BELOW_LOW_THRESHOLD).
constexpr int32_t kBelowThreshold = -1;

// out[i] for each of the n anchors: the index of its ground-truth box, or kBelowThreshold.
// gt [m,4] xyxy; anchors [n,4] xyxy, or cxcywh when anchors_cxcywh (converted as x1 = cx − 0.5·w, float32); same units.
// 1. IoU(gt_j, anchor_i) with the float32 IoU of iou.h (0 for degenerate / non-finite boxes, never NaN).
// 2. Each anchor takes the gt with the highest IoU (ties → lower gt index) when that IoU >= iou_threshold.
// 3. allow_low_quality: then for j = 0…m−1 in order, gt j's best anchor (ties → lowest anchor index) is set to j,
//    whatever its IoU and whichever gt step 2 gave it (a later gt wins a shared best anchor).
// m = 0 → every anchor kBelowThreshold. O(m·n) time, O(n + m) memory (the IoU matrix is never stored).
void match_anchors(const float* gt, size_t m, const float* anchors, size_t n, bool anchors_cxcywh, float iou_threshold,
                   bool allow_low_quality, int32_t* out);

}  // namespace ssd
