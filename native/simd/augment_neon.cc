// NEON photometric chain (arm64, 4 pixels a vector): the same operations and blends as augment_avx2.cc, so the bytes
// equal the scalar path's (AArch64 vdivq_f32 / vrndmq_f32 are IEEE division and floor; no fused multiply-add).
#include "augment_kernels.h"

#include "../core/augment.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace ssd {
namespace {

// mask ? b : a
inline float32x4_t sel(float32x4_t a, float32x4_t b, uint32x4_t mask) { return vbslq_f32(mask, b, a); }

// x < 0 ? 0 : (x > 255 ? 255 : x)
inline float32x4_t clamp255(float32x4_t x) {
  const float32x4_t zero = vdupq_n_f32(0.f), top = vdupq_n_f32(255.f);
  return sel(sel(x, top, vcgtq_f32(x, top)), zero, vcltq_f32(x, zero));
}

void photometric4(float32x4_t v[3], const AugmentParams& p) {
  if (p.brightness != 0.f) {
    const float32x4_t d = vdupq_n_f32(p.brightness);
    for (int k = 0; k < 3; ++k) v[k] = clamp255(vaddq_f32(v[k], d));
  }
  const float32x4_t contrast = vdupq_n_f32(p.contrast);
  if (p.contrast_first && p.contrast != 1.f)
    for (int k = 0; k < 3; ++k) v[k] = clamp255(vmulq_f32(v[k], contrast));
  if (p.saturation != 1.f || p.hue != 0.f) {
    const float32x4_t r = v[0], g = v[1], b = v[2];
    const float32x4_t zero = vdupq_n_f32(0.f), one = vdupq_n_f32(1.f), c60 = vdupq_n_f32(60.f),
                      c360 = vdupq_n_f32(360.f);
    const float32x4_t gb_max = sel(g, b, vcltq_f32(g, b));
    const float32x4_t mx = sel(r, gb_max, vcltq_f32(r, gb_max));
    const float32x4_t gb_min = sel(g, b, vcltq_f32(b, g));
    const float32x4_t mn = sel(r, gb_min, vcltq_f32(gb_min, r));
    const float32x4_t d = vsubq_f32(mx, mn);
    const float32x4_t ha = vmulq_f32(vdivq_f32(vsubq_f32(g, b), d), c60);
    const float32x4_t hb = vaddq_f32(vmulq_f32(vdivq_f32(vsubq_f32(b, r), d), c60), vdupq_n_f32(120.f));
    const float32x4_t hc = vaddq_f32(vmulq_f32(vdivq_f32(vsubq_f32(r, g), d), c60), vdupq_n_f32(240.f));
    float32x4_t h = sel(sel(hc, hb, vceqq_f32(mx, g)), ha, vceqq_f32(mx, r));
    h = sel(h, vaddq_f32(h, c360), vcltq_f32(h, zero));
    h = sel(zero, h, vcgtq_f32(d, zero));
    float32x4_t s = sel(zero, vdivq_f32(d, mx), vcgtq_f32(mx, zero));
    s = vmulq_f32(s, vdupq_n_f32(p.saturation));
    s = sel(s, one, vcgtq_f32(s, one));
    h = vaddq_f32(h, vdupq_n_f32(p.hue));
    h = sel(h, vaddq_f32(h, c360), vcltq_f32(h, zero));
    h = sel(h, vsubq_f32(h, c360), vcgeq_f32(h, c360));
    const float32x4_t hh = vdivq_f32(h, c60);
    float32x4_t sector = vrndmq_f32(hh);
    const float32x4_t five = vdupq_n_f32(5.f);
    sector = sel(sector, five, vcgtq_f32(sector, five));
    const float32x4_t fr = vsubq_f32(hh, sector);
    const float32x4_t P = vmulq_f32(mx, vsubq_f32(one, s));
    const float32x4_t Q = vmulq_f32(mx, vsubq_f32(one, vmulq_f32(s, fr)));
    const float32x4_t T = vmulq_f32(mx, vsubq_f32(one, vmulq_f32(s, vsubq_f32(one, fr))));
    const uint32x4_t s0 = vceqq_f32(sector, zero), s1 = vceqq_f32(sector, one),
                     s2 = vceqq_f32(sector, vdupq_n_f32(2.f)), s3 = vceqq_f32(sector, vdupq_n_f32(3.f)),
                     s4 = vceqq_f32(sector, vdupq_n_f32(4.f));
    v[0] = sel(sel(sel(sel(sel(mx, T, s4), P, s3), P, s2), Q, s1), mx, s0);
    v[1] = sel(sel(sel(sel(sel(P, P, s4), Q, s3), mx, s2), mx, s1), T, s0);
    v[2] = sel(sel(sel(sel(sel(Q, mx, s4), mx, s3), T, s2), P, s1), P, s0);
  }
  if (!p.contrast_first && p.contrast != 1.f)
    for (int k = 0; k < 3; ++k) v[k] = clamp255(vmulq_f32(v[k], contrast));
}

void photometric_planar(float* r, float* g, float* b, size_t n, const AugmentParams& p) {
  float* planes[3] = {r, g, b};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t v[3] = {vld1q_f32(r + i), vld1q_f32(g + i), vld1q_f32(b + i)};
    photometric4(v, p);
    const float32x4_t o0 = v[p.swap[0]], o1 = v[p.swap[1]], o2 = v[p.swap[2]];
    vst1q_f32(planes[0] + i, o0), vst1q_f32(planes[1] + i, o1), vst1q_f32(planes[2] + i, o2);
  }
  if (i < n) {  // the tail through a padded block
    float t[3][4] = {};
    for (size_t k = 0; k < n - i; ++k) t[0][k] = r[i + k], t[1][k] = g[i + k], t[2][k] = b[i + k];
    float32x4_t v[3] = {vld1q_f32(t[0]), vld1q_f32(t[1]), vld1q_f32(t[2])};
    photometric4(v, p);
    const float32x4_t o0 = v[p.swap[0]], o1 = v[p.swap[1]], o2 = v[p.swap[2]];
    vst1q_f32(t[0], o0), vst1q_f32(t[1], o1), vst1q_f32(t[2], o2);
    for (size_t k = 0; k < n - i; ++k) r[i + k] = t[0][k], g[i + k] = t[1][k], b[i + k] = t[2][k];
  }
}

}  // namespace

PhotometricPlanarFn photometric_planar_neon() { return &photometric_planar; }

}  // namespace ssd

#else
namespace ssd {
PhotometricPlanarFn photometric_planar_neon() { return nullptr; }
}  // namespace ssd
#endif
