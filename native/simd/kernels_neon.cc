// NEON kernels (arm64: Jetson, Raspberry Pi 4/5, Apple silicon). NEON is baseline on AArch64, so no target
// attribute is needed; on other targets this file compiles to a null table.
#include "kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace ssd {
namespace {

// Lane mask with the first n (0..4) lanes set.
inline uint32x4_t tail_mask(size_t n) {
  const int32_t idx[4] = {0, 1, 2, 3};
  return vcltq_s32(vld1q_s32(idx), vdupq_n_s32(static_cast<int32_t>(n)));
}

inline float32x4_t load_n(const float* p, size_t n) {
  float tmp[4] = {0.f, 0.f, 0.f, 0.f};
  for (size_t i = 0; i < n; ++i) tmp[i] = p[i];
  return vld1q_f32(tmp);
}

inline void store_n(float* p, float32x4_t v, size_t n) {
  float tmp[4];
  vst1q_f32(tmp, v);
  for (size_t i = 0; i < n; ++i) p[i] = tmp[i];
}

// expf_sleef for 4 lanes (same roundings as the scalar version; NaN propagates).
inline float32x4_t exp4(float32x4_t d) {
  using namespace sleef;
  const int32x4_t qi = vcvtnq_s32_f32(vmulq_f32(d, vdupq_n_f32(kLog2e)));  // nearest even
  const float32x4_t q = vcvtq_f32_s32(qi);
  float32x4_t s = vfmaq_f32(d, q, vdupq_n_f32(-kL2U));
  s = vfmaq_f32(s, q, vdupq_n_f32(-kL2L));
  float32x4_t u = vdupq_n_f32(kC0);
  u = vfmaq_f32(vdupq_n_f32(kC1), u, s);
  u = vfmaq_f32(vdupq_n_f32(kC2), u, s);
  u = vfmaq_f32(vdupq_n_f32(kC3), u, s);
  u = vfmaq_f32(vdupq_n_f32(kC4), u, s);
  u = vfmaq_f32(vdupq_n_f32(kC5), u, s);
  u = vaddq_f32(vdupq_n_f32(1.f), vfmaq_f32(s, vmulq_f32(s, s), u));
  const int32x4_t h = vshrq_n_s32(qi, 1);
  const int32x4_t bias = vdupq_n_s32(127);
  u = vmulq_f32(u, vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, bias), 23)));
  u = vmulq_f32(u, vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(qi, h), bias), 23)));
  u = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(u), vcltq_f32(d, vdupq_n_f32(-104.f))));
  u = vbslq_f32(vcgtq_f32(d, vdupq_n_f32(100.f)), vdupq_n_f32(__builtin_inff()), u);
  const uint32x4_t is_nan = vmvnq_u32(vceqq_f32(d, d));
  return vbslq_f32(is_nan, d, u);
}

// Max and Σ exp(x − max) of one row in the AVX2/torch order (element c → lane c mod 8: lanes 0-3 and 4-7 kept in
// two vectors; in order below 8 columns); stores the exps into `out` when given.
inline void row_exp_sum(const float* in, float* out, size_t cols, float& max_out, float& sum_out) {
  float32x4_t vmax = vdupq_n_f32(-__builtin_inff());
  size_t c = 0;
  for (; c + 4 <= cols; c += 4) vmax = vmaxq_f32(vmax, vld1q_f32(in + c));
  float m = vmaxvq_f32(vmax);
  for (size_t t = c; t < cols; ++t) m = in[t] > m || in[t] != in[t] ? in[t] : m;
  const float32x4_t vm = vdupq_n_f32(m);
  float32x4_t lo = vdupq_n_f32(0.f), hi = vdupq_n_f32(0.f);
  float in_order = 0.f;
  for (c = 0; c < cols; c += 4) {
    const size_t n = cols - c < 4 ? cols - c : 4;
    float32x4_t e = exp4(vsubq_f32(n == 4 ? vld1q_f32(in + c) : load_n(in + c, n), vm));
    e = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(e), tail_mask(n)));
    if (out) {
      if (n == 4)
        vst1q_f32(out + c, e);
      else
        store_n(out + c, e, n);
    }
    if (cols < 8) {
      float tmp[4];
      vst1q_f32(tmp, e);
      for (size_t t = 0; t < n; ++t) in_order += tmp[t];
    }
    if ((c & 7) == 0)
      lo = vaddq_f32(lo, e);
    else
      hi = vaddq_f32(hi, e);
  }
  const float32x4_t p = vaddq_f32(lo, hi);  // (l0+l4, l1+l5, l2+l6, l3+l7)
  max_out = m;
  sum_out = cols < 8 ? in_order
                     : (vgetq_lane_f32(p, 0) + vgetq_lane_f32(p, 2)) + (vgetq_lane_f32(p, 1) + vgetq_lane_f32(p, 3));
}

void softmax_rows(const float* in, float* out, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r, in += cols, out += cols) {
    float m, sum;
    row_exp_sum(in, out, cols, m, sum);
    const float32x4_t inv = vdupq_n_f32(1.f / sum);
    size_t c = 0;
    for (; c + 4 <= cols; c += 4) vst1q_f32(out + c, vmulq_f32(vld1q_f32(out + c), inv));
    if (c < cols) store_n(out + c, vmulq_f32(load_n(out + c, cols - c), inv), cols - c);
  }
}

void exp_sums(const float* in, float* max_out, float* sum_out, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r, in += cols) row_exp_sum(in, nullptr, cols, max_out[r], sum_out[r]);
}

void sigmoid(const float* in, float* out, size_t n) {
  const float32x4_t one = vdupq_n_f32(1.f);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(out + i, vdivq_f32(one, vaddq_f32(one, exp4(vnegq_f32(vld1q_f32(in + i))))));
  if (i < n) store_n(out + i, vdivq_f32(one, vaddq_f32(one, exp4(vnegq_f32(load_n(in + i, n - i))))), n - i);
}

void decode(const float* d, const float* a, float* out, size_t n, const CoderParams& p) {
  const float wts[4] = {p.wx, p.wy, p.ww, p.wh};
  const float32x4_t weights = vld1q_f32(wts);
  const float32x4_t clip = vdupq_n_f32(p.bbox_clip);
  const float32x4_t half = vdupq_n_f32(0.5f);
  for (size_t i = 0; i < n; ++i, d += 4, a += 4, out += 4) {
    float32x4_t dv = vld1q_f32(d);
    if (p.order_yx) dv = vrev64q_f32(dv);  // [ty tx th tw] → [tx ty tw th]
    const float32x4_t q = vdivq_f32(dv, weights);
    const float32x4_t av = vld1q_f32(a);
    const float32x2_t acxy = vget_low_f32(av), awh = vget_high_f32(av);
    const float32x2_t ctr = vadd_f32(vmul_f32(vget_low_f32(q), awh), acxy);
    const float32x2_t wh = vmul_f32(vget_high_f32(exp4(vminq_f32(q, clip))), awh);
    const float32x2_t hw = vmul_f32(vget_low_f32(half), wh);
    vst1q_f32(out, vcombine_f32(vsub_f32(ctr, hw), vadd_f32(ctr, hw)));
  }
}

inline float32x4_t iou4(float32x4_t bx1, float32x4_t by1, float32x4_t bx2, float32x4_t by2, float32x4_t barea,
                        const KeptBoxes& k, size_t j, size_t n) {
  const bool full = n >= 4;
  auto load = [&](const float* p) { return full ? vld1q_f32(p + j) : load_n(p + j, n); };
  const float32x4_t kx1 = load(k.x1), ky1 = load(k.y1), kx2 = load(k.x2), ky2 = load(k.y2), karea = load(k.area);
  const float32x4_t zero = vdupq_n_f32(0.f);
  // (a > b ? a : b) and (a < b ? a : b) with the box as a, as iou_scalar does.
  const float32x4_t xx1 = vbslq_f32(vcgtq_f32(bx1, kx1), bx1, kx1), yy1 = vbslq_f32(vcgtq_f32(by1, ky1), by1, ky1);
  const float32x4_t xx2 = vbslq_f32(vcltq_f32(bx2, kx2), bx2, kx2), yy2 = vbslq_f32(vcltq_f32(by2, ky2), by2, ky2);
  const float32x4_t dw = vsubq_f32(xx2, xx1), dh = vsubq_f32(yy2, yy1);
  const float32x4_t w = vbslq_f32(vcgtq_f32(dw, zero), dw, zero), h = vbslq_f32(vcgtq_f32(dh, zero), dh, zero);
  const float32x4_t inter = vmulq_f32(w, h);
  const float32x4_t uni = vsubq_f32(vaddq_f32(barea, karea), inter);
  const float32x4_t r = vdivq_f32(inter, uni);
  const uint32x4_t ok = vandq_u32(vandq_u32(vcgtq_f32(uni, zero), vcgeq_f32(r, zero)), tail_mask(n < 4 ? n : 4));
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(r), ok));
}

bool any_iou_above(const float box[4], float area, const KeptBoxes& k, double threshold) {
  const float32x4_t bx1 = vdupq_n_f32(box[0]), by1 = vdupq_n_f32(box[1]), bx2 = vdupq_n_f32(box[2]),
                    by2 = vdupq_n_f32(box[3]), ba = vdupq_n_f32(area);
  const float32x4_t t = vdupq_n_f32(float_floor(threshold));
  for (size_t j = 0; j < k.count; j += 4) {
    const size_t n = k.count - j;
    const uint32x4_t gt = vandq_u32(vcgtq_f32(iou4(bx1, by1, bx2, by2, ba, k, j, n), t), tail_mask(n < 4 ? n : 4));
    if (vmaxvq_u32(gt)) return true;
  }
  return false;
}

void iou_row(const float box[4], float area, const KeptBoxes& k, float* out) {
  const float32x4_t bx1 = vdupq_n_f32(box[0]), by1 = vdupq_n_f32(box[1]), bx2 = vdupq_n_f32(box[2]),
                    by2 = vdupq_n_f32(box[3]), ba = vdupq_n_f32(area);
  for (size_t j = 0; j < k.count; j += 4) {
    const size_t n = k.count - j;
    const float32x4_t r = iou4(bx1, by1, bx2, by2, ba, k, j, n);
    if (n >= 4)
      vst1q_f32(out + j, r);
    else
      store_n(out + j, r, n);
  }
}

const Kernels kNeon{"neon", softmax_rows, exp_sums, sigmoid, decode, any_iou_above, iou_row};

}  // namespace

const Kernels* neon_kernels() { return &kNeon; }

}  // namespace ssd

#else
namespace ssd {
const Kernels* neon_kernels() { return nullptr; }
}  // namespace ssd
#endif
