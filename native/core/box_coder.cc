#include "box_coder.h"

#include <cmath>

#include "../simd/dispatch.h"

namespace ssd {

void xyxy_to_cxcywh(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i, in += 4, out += 4) {
    const float w = in[2] - in[0], h = in[3] - in[1];
    const float cx = in[0] + 0.5f * w, cy = in[1] + 0.5f * h;
    out[0] = cx, out[1] = cy, out[2] = w, out[3] = h;
  }
}

void cxcywh_to_xyxy(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i, in += 4, out += 4) {
    const float hw = 0.5f * in[2], hh = 0.5f * in[3];
    const float cx = in[0], cy = in[1];
    out[0] = cx - hw, out[1] = cy - hh, out[2] = cx + hw, out[3] = cy + hh;
  }
}

void encode_boxes(const float* g, const float* a, bool anchors_cxcywh, size_t n, const CoderParams& p, float* out) {
  const int ix = p.order_yx ? 1 : 0, iy = p.order_yx ? 0 : 1, iw = p.order_yx ? 3 : 2, ih = p.order_yx ? 2 : 3;
  for (size_t i = 0; i < n; ++i, g += 4, a += 4, out += 4) {
    float ac[4];
    if (anchors_cxcywh)
      ac[0] = a[0], ac[1] = a[1], ac[2] = a[2], ac[3] = a[3];
    else
      xyxy_to_cxcywh(a, ac, 1);
    float gc[4];
    xyxy_to_cxcywh(g, gc, 1);
    out[ix] = p.wx * (gc[0] - ac[0]) / ac[2];
    out[iy] = p.wy * (gc[1] - ac[1]) / ac[3];
    // log in double, rounded once to float: what torch returns (glibc logf is off by 1 ulp on some inputs).
    out[iw] = p.ww * static_cast<float>(std::log(static_cast<double>(gc[2] / ac[2])));
    out[ih] = p.wh * static_cast<float>(std::log(static_cast<double>(gc[3] / ac[3])));
  }
}

void decode_boxes(const float* deltas, const float* anchors, bool anchors_cxcywh, size_t n, const CoderParams& p,
                  float* out, float* scratch) {
  if (!anchors_cxcywh) {
    xyxy_to_cxcywh(anchors, scratch, n);
    anchors = scratch;
  }
  kernels().decode(deltas, anchors, out, n, p);
}

}  // namespace ssd
