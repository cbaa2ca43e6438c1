// Box coder: xyxy boxes <-> (cx, cy, log w, log h) offsets against anchors, torchvision's BoxCoder semantics.
#pragma once
#include "types.h"

namespace ssd {

// anchors are xyxy (torchvision) unless anchors_cxcywh; every array is [n,4].
void encode_boxes(const float* boxes_xyxy, const float* anchors, bool anchors_cxcywh, size_t n, const CoderParams& p,
                  float* deltas_out);
// Decodes with the active SIMD kernel; `scratch` ([n,4]) is needed only for xyxy anchors.
void decode_boxes(const float* deltas, const float* anchors, bool anchors_cxcywh, size_t n, const CoderParams& p,
                  float* boxes_out, float* scratch);
// xyxy → cxcywh the way torchvision's coder does it: w = x2 − x1, cx = x1 + 0.5·w (float32).
void xyxy_to_cxcywh(const float* in, float* out, size_t n);
// cxcywh → xyxy: x1 = cx − 0.5·w, x2 = cx + 0.5·w (float32, torchvision's order).
void cxcywh_to_xyxy(const float* in, float* out, size_t n);

}  // namespace ssd
