// Pairwise IoU of xyxy boxes (float32, torchvision's formula; degenerate cases give 0, never NaN).
#pragma once
#include <vector>
#include "types.h"

namespace ssd {

// Structure-of-arrays copy of n xyxy boxes with areas, padded for vector loads.
struct BoxSoA {
  std::vector<float> x1, y1, x2, y2, area;
  void assign(const float* boxes, size_t n);
};

// out [n,m] row-major: out[i*m + j] = IoU(a_i, b_j).
void box_iou(const float* a, size_t n, const float* b, size_t m, float* out);

}  // namespace ssd
