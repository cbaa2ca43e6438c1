// Scalar reference kernels: plain float32 arithmetic in torchvision's operation order (no FMA contraction:
// the build passes -ffp-contract=off; explicit std::fma where torch's kernels fuse), torch's expf.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace ssd {

float expf_sleef(float d) {
  using namespace sleef;
  if (d < -104.f) return 0.f;  // (checked before any float→int conversion)
  if (d > 100.f) return __builtin_inff();
  if (d != d) return d;
  const float q = std::nearbyint(d * kLog2e);  // round half to even
  float s = std::fma(q, -kL2U, d);
  s = std::fma(q, -kL2L, s);
  float u = kC0;
  u = std::fma(u, s, kC1);
  u = std::fma(u, s, kC2);
  u = std::fma(u, s, kC3);
  u = std::fma(u, s, kC4);
  u = std::fma(u, s, kC5);
  u = 1.f + std::fma(s * s, u, s);
  const int qi = static_cast<int>(q);
  const int h = qi >> 1;
  return u * std::ldexp(1.f, h) * std::ldexp(1.f, qi - h);
}

namespace {

void softmax_rows(const float* in, float* out, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r, in += cols, out += cols) {
    float m = in[0];
    for (size_t c = 1; c < cols; ++c) m = std::max(m, in[c]);
    // Sum in 8 lanes (element c → lane c mod 8) combined pairwise, as the AVX2 kernel and torch do.
    // Below 8 columns torch sums in order (no full vector).
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t c = 0; c < cols; ++c) lane[c & 7] += (out[c] = expf_sleef(in[c] - m));
    float sum = 0.f;
    if (cols < 8)
      for (size_t c = 0; c < cols; ++c) sum += out[c];
    else
      sum = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
    const float inv = 1.f / sum;
    for (size_t c = 0; c < cols; ++c) out[c] *= inv;
  }
}

void exp_sums(const float* in, float* max_out, float* sum_out, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r, in += cols) {
    float m = in[0];
    for (size_t c = 1; c < cols; ++c) m = std::max(m, in[c]);
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0}, in_order = 0.f;
    for (size_t c = 0; c < cols; ++c) {
      const float e = expf_sleef(in[c] - m);
      lane[c & 7] += e;
      in_order += e;
    }
    max_out[r] = m;
    sum_out[r] =
        cols < 8 ? in_order : ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
  }
}

void sigmoid(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = 1.f / (1.f + expf_sleef(-in[i]));
}

void decode(const float* d, const float* a, float* out, size_t n, const CoderParams& p) {
  const int ix = p.order_yx ? 1 : 0, iy = p.order_yx ? 0 : 1, iw = p.order_yx ? 3 : 2, ih = p.order_yx ? 2 : 3;
  for (size_t i = 0; i < n; ++i, d += 4, a += 4, out += 4) {
    const float dx = d[ix] / p.wx, dy = d[iy] / p.wy;
    const float dw = std::min(d[iw] / p.ww, p.bbox_clip), dh = std::min(d[ih] / p.wh, p.bbox_clip);
    const float cx = dx * a[2] + a[0], cy = dy * a[3] + a[1];
    const float w = expf_sleef(dw) * a[2], h = expf_sleef(dh) * a[3];
    out[0] = cx - 0.5f * w;
    out[1] = cy - 0.5f * h;
    out[2] = cx + 0.5f * w;
    out[3] = cy + 0.5f * h;
  }
}

bool any_iou_above(const float box[4], float area, const KeptBoxes& k, double threshold) {
  for (size_t j = 0; j < k.count; ++j) {
    const float other[4] = {k.x1[j], k.y1[j], k.x2[j], k.y2[j]};
    if (static_cast<double>(iou_scalar(other, k.area[j], box, area)) > threshold) return true;
  }
  return false;
}

void iou_row(const float box[4], float area, const KeptBoxes& b, float* out) {
  for (size_t j = 0; j < b.count; ++j) {
    const float other[4] = {b.x1[j], b.y1[j], b.x2[j], b.y2[j]};
    out[j] = iou_scalar(box, area, other, b.area[j]);
  }
}

const Kernels kScalar{"scalar", softmax_rows, exp_sums, sigmoid, decode, any_iou_above, iou_row};

}  // namespace

const Kernels& scalar_kernels() { return kScalar; }

}  // namespace ssd
