#include "iou.h"

#include "../simd/dispatch.h"

namespace ssd {

void BoxSoA::assign(const float* boxes, size_t n) {
  for (auto* v : {&x1, &y1, &x2, &y2, &area}) v->resize(n);
  for (size_t i = 0; i < n; ++i, boxes += 4) {
    x1[i] = boxes[0], y1[i] = boxes[1], x2[i] = boxes[2], y2[i] = boxes[3];
    area[i] = box_area(boxes);
  }
}

void box_iou(const float* a, size_t n, const float* b, size_t m, float* out) {
  BoxSoA soa;
  soa.assign(b, m);
  const KeptBoxes view{soa.x1.data(), soa.y1.data(), soa.x2.data(), soa.y2.data(), soa.area.data(), m};
  const Kernels& k = kernels();
  for (size_t i = 0; i < n; ++i, a += 4, out += m) k.iou_row(a, box_area(a), view, out);
}

}  // namespace ssd
