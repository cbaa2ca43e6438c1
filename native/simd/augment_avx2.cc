// AVX2 photometric chain (8 pixels a lane group): the scalar photometric_pixel's operations in the same order, each
// branch computed in every lane and selected with blends that mirror the scalar conditions exactly (including
// std::max/std::min's tie rules), no FMA — so the bytes equal the scalar path's.
#include "augment_kernels.h"

#include "../core/augment.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SSD_AVX2 __attribute__((target("avx2,fma")))

namespace ssd {
namespace {

SSD_AVX2 inline __m256 lt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
SSD_AVX2 inline __m256 gt(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
SSD_AVX2 inline __m256 eq(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
// mask ? b : a
SSD_AVX2 inline __m256 sel(__m256 a, __m256 b, __m256 mask) { return _mm256_blendv_ps(a, b, mask); }

// x < 0 ? 0 : (x > 255 ? 255 : x)
SSD_AVX2 inline __m256 clamp255(__m256 x) {
  const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.f);
  return sel(sel(x, top, gt(x, top)), zero, lt(x, zero));
}

SSD_AVX2 void photometric8(__m256 v[3], const AugmentParams& p) {
  if (p.brightness != 0.f) {
    const __m256 d = _mm256_set1_ps(p.brightness);
    for (int k = 0; k < 3; ++k) v[k] = clamp255(_mm256_add_ps(v[k], d));
  }
  const __m256 contrast = _mm256_set1_ps(p.contrast);
  if (p.contrast_first && p.contrast != 1.f)
    for (int k = 0; k < 3; ++k) v[k] = clamp255(_mm256_mul_ps(v[k], contrast));
  if (p.saturation != 1.f || p.hue != 0.f) {
    const __m256 r = v[0], g = v[1], b = v[2];
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f), c60 = _mm256_set1_ps(60.f),
                 c360 = _mm256_set1_ps(360.f);
    const __m256 gb_max = sel(g, b, lt(g, b));        // std::max(g, b)
    const __m256 mx = sel(r, gb_max, lt(r, gb_max));  // std::max(r, ·)
    const __m256 gb_min = sel(g, b, lt(b, g));        // std::min(g, b)
    const __m256 mn = sel(r, gb_min, lt(gb_min, r));  // std::min(r, ·)
    const __m256 d = _mm256_sub_ps(mx, mn);
    const __m256 ha = _mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(g, b), d), c60);
    const __m256 hb = _mm256_add_ps(_mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(b, r), d), c60), _mm256_set1_ps(120.f));
    const __m256 hc = _mm256_add_ps(_mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(r, g), d), c60), _mm256_set1_ps(240.f));
    __m256 h = sel(sel(hc, hb, eq(mx, g)), ha, eq(mx, r));
    h = sel(h, _mm256_add_ps(h, c360), lt(h, zero));
    h = sel(zero, h, gt(d, zero));
    __m256 s = sel(zero, _mm256_div_ps(d, mx), gt(mx, zero));
    s = _mm256_mul_ps(s, _mm256_set1_ps(p.saturation));
    s = sel(s, one, gt(s, one));
    h = _mm256_add_ps(h, _mm256_set1_ps(p.hue));
    h = sel(h, _mm256_add_ps(h, c360), lt(h, zero));
    h = sel(h, _mm256_sub_ps(h, c360), _mm256_cmp_ps(h, c360, _CMP_GE_OQ));
    const __m256 hh = _mm256_div_ps(h, c60);
    __m256 sector = _mm256_floor_ps(hh);
    const __m256 five = _mm256_set1_ps(5.f);
    sector = sel(sector, five, gt(sector, five));
    const __m256 fr = _mm256_sub_ps(hh, sector);
    const __m256 P = _mm256_mul_ps(mx, _mm256_sub_ps(one, s));
    const __m256 Q = _mm256_mul_ps(mx, _mm256_sub_ps(one, _mm256_mul_ps(s, fr)));
    const __m256 T = _mm256_mul_ps(mx, _mm256_sub_ps(one, _mm256_mul_ps(s, _mm256_sub_ps(one, fr))));
    const __m256 s0 = eq(sector, zero), s1 = eq(sector, one), s2 = eq(sector, _mm256_set1_ps(2.f)),
                 s3 = eq(sector, _mm256_set1_ps(3.f)), s4 = eq(sector, _mm256_set1_ps(4.f));
    // sectors 0…5: (mx,T,P) (Q,mx,P) (P,mx,T) (P,Q,mx) (T,P,mx) (mx,P,Q); the default (5) first
    v[0] = sel(sel(sel(sel(sel(mx, T, s4), P, s3), P, s2), Q, s1), mx, s0);
    v[1] = sel(sel(sel(sel(sel(P, P, s4), Q, s3), mx, s2), mx, s1), T, s0);
    v[2] = sel(sel(sel(sel(sel(Q, mx, s4), mx, s3), T, s2), P, s1), P, s0);
  }
  if (!p.contrast_first && p.contrast != 1.f)
    for (int k = 0; k < 3; ++k) v[k] = clamp255(_mm256_mul_ps(v[k], contrast));
}

SSD_AVX2 void photometric_planar(float* r, float* g, float* b, size_t n, const AugmentParams& p) {
  float* planes[3] = {r, g, b};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v[3] = {_mm256_loadu_ps(r + i), _mm256_loadu_ps(g + i), _mm256_loadu_ps(b + i)};
    photometric8(v, p);
    const __m256 o0 = v[p.swap[0]], o1 = v[p.swap[1]], o2 = v[p.swap[2]];
    _mm256_storeu_ps(planes[0] + i, o0), _mm256_storeu_ps(planes[1] + i, o1), _mm256_storeu_ps(planes[2] + i, o2);
  }
  if (i < n) {  // the tail through a padded block (lanes past n are zeros, computed and dropped)
    alignas(32) float t[3][8] = {};
    for (size_t k = 0; k < n - i; ++k) t[0][k] = r[i + k], t[1][k] = g[i + k], t[2][k] = b[i + k];
    __m256 v[3] = {_mm256_load_ps(t[0]), _mm256_load_ps(t[1]), _mm256_load_ps(t[2])};
    photometric8(v, p);
    _mm256_store_ps(t[0], v[p.swap[0]]), _mm256_store_ps(t[1], v[p.swap[1]]), _mm256_store_ps(t[2], v[p.swap[2]]);
    for (size_t k = 0; k < n - i; ++k) r[i + k] = t[0][k], g[i + k] = t[1][k], b[i + k] = t[2][k];
  }
}

}  // namespace

PhotometricPlanarFn photometric_planar_avx2() { return &photometric_planar; }

}  // namespace ssd

#else
namespace ssd {
PhotometricPlanarFn photometric_planar_avx2() { return nullptr; }
}  // namespace ssd
#endif
