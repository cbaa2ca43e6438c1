#include "matcher.h"

#include <algorithm>
#include <vector>

#include "../simd/dispatch.h"
#include "box_coder.h"
#include "iou.h"

namespace ssd {

void match_anchors(const float* gt, size_t m, const float* anchors, size_t n, bool anchors_cxcywh, float iou_threshold,
                   bool allow_low_quality, int32_t* out) {
  std::fill(out, out + n, kBelowThreshold);
  if (m == 0 || n == 0) return;
  BoxSoA soa;
  if (anchors_cxcywh) {
    std::vector<float> xyxy(4 * n);
    cxcywh_to_xyxy(anchors, xyxy.data(), n);
    soa.assign(xyxy.data(), n);
  } else {
    soa.assign(anchors, n);
  }
  const KeptBoxes view{soa.x1.data(), soa.y1.data(), soa.x2.data(), soa.y2.data(), soa.area.data(), n};
  const Kernels& k = kernels();
  std::vector<float> row(n), best_iou(n, -1.f);  // IoUs are in [0, 1]: gt 0 always takes the first place
  std::vector<size_t> best_anchor(m);
  for (size_t j = 0; j < m; ++j) {
    const float* g = gt + 4 * j;
    k.iou_row(g, box_area(g), view, row.data());
    size_t arg = 0;
    for (size_t i = 0; i < n; ++i) {
      const float v = row[i];
      if (v > best_iou[i]) best_iou[i] = v, out[i] = static_cast<int32_t>(j);  // strict: ties keep the lower gt
      if (v > row[arg]) arg = i;                                               // strict: ties keep the lower anchor
    }
    best_anchor[j] = arg;
  }
  for (size_t i = 0; i < n; ++i)
    if (!(best_iou[i] >= iou_threshold)) out[i] = kBelowThreshold;
  if (allow_low_quality)
    for (size_t j = 0; j < m; ++j) out[best_anchor[j]] = static_cast<int32_t>(j);
}

}  // namespace ssd
