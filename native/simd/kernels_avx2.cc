// AVX2 + FMA kernels (x86-64). Compiled for every x86-64 build with function-level target attributes, so
// CMakeLists.txt and binding.gyp need no per-file flags; used only when the CPU reports avx2 and fma.
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SSD_AVX2 __attribute__((target("avx2,fma")))

namespace ssd {
namespace {

// Lane mask with the first `n` (0..8) lanes set.
SSD_AVX2 inline __m256i tail_mask(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// expf_sleef for 8 lanes (same roundings as the scalar version; NaN propagates).
SSD_AVX2 inline __m256 exp256(__m256 d) {
  using namespace sleef;
  const __m256i qi = _mm256_cvtps_epi32(_mm256_mul_ps(d, _mm256_set1_ps(kLog2e)));  // nearest even
  const __m256 q = _mm256_cvtepi32_ps(qi);
  __m256 s = _mm256_fmadd_ps(q, _mm256_set1_ps(-kL2U), d);
  s = _mm256_fmadd_ps(q, _mm256_set1_ps(-kL2L), s);
  __m256 u = _mm256_set1_ps(kC0);
  u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(kC1));
  u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(kC2));
  u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(kC3));
  u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(kC4));
  u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(kC5));
  u = _mm256_add_ps(_mm256_set1_ps(1.f), _mm256_fmadd_ps(_mm256_mul_ps(s, s), u, s));
  const __m256i h = _mm256_srai_epi32(qi, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  u = _mm256_mul_ps(u, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23)));
  u = _mm256_mul_ps(u, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(qi, h), bias), 23)));
  u = _mm256_andnot_ps(_mm256_cmp_ps(d, _mm256_set1_ps(-104.f), _CMP_LT_OQ), u);
  return _mm256_blendv_ps(u, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(d, _mm256_set1_ps(100.f), _CMP_GT_OQ));
}

SSD_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

SSD_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// Max and Σ exp(x − max) of one row (lane c mod 8, combined as torch does; in order below 8 columns); stores the
// exps into `out` when given.
SSD_AVX2 inline void row_exp_sum(const float* in, float* out, size_t cols, float& max_out, float& sum_out) {
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
  __m256 vmax = neg_inf;
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(in + c));
  const __m256i tm = tail_mask(cols - c);
  if (c < cols)
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(in + c, tm), _mm256_castsi256_ps(tm)));
  const float mf = hmax(vmax);
  const __m256 m = _mm256_set1_ps(mf);
  __m256 vsum = _mm256_setzero_ps();
  alignas(32) float tail[8];
  for (c = 0; c + 8 <= cols; c += 8) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(in + c), m));
    if (out) _mm256_storeu_ps(out + c, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  if (c < cols) {
    const __m256 e = _mm256_and_ps(exp256(_mm256_sub_ps(_mm256_maskload_ps(in + c, tm), m)), _mm256_castsi256_ps(tm));
    if (out) _mm256_maskstore_ps(out + c, tm, e);
    vsum = _mm256_add_ps(vsum, e);
    _mm256_store_ps(tail, e);
  }
  float sum;
  if (cols < 8) {  // below one vector torch sums in order
    sum = 0.f;
    for (size_t t = 0; t < cols; ++t) sum += tail[t];
  } else {
    sum = hsum(vsum);
  }
  max_out = mf, sum_out = sum;
}

SSD_AVX2 void softmax_rows(const float* in, float* out, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r, in += cols, out += cols) {
    float m, sum;
    row_exp_sum(in, out, cols, m, sum);
    const __m256 inv = _mm256_set1_ps(1.f / sum);
    size_t c = 0;
    for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_loadu_ps(out + c), inv));
    if (c < cols) {
      const __m256i tm = tail_mask(cols - c);
      _mm256_maskstore_ps(out + c, tm, _mm256_mul_ps(_mm256_maskload_ps(out + c, tm), inv));
    }
  }
}

SSD_AVX2 void exp_sums(const float* in, float* max_out, float* sum_out, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r, in += cols) row_exp_sum(in, nullptr, cols, max_out[r], sum_out[r]);
}

SSD_AVX2 void sigmoid(const float* in, float* out, size_t n) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 zero = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i,
                     _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(zero, _mm256_loadu_ps(in + i))))));
  if (i < n) {
    const __m256i tm = tail_mask(n - i);
    _mm256_maskstore_ps(
        out + i, tm,
        _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(zero, _mm256_maskload_ps(in + i, tm))))));
  }
}

// Two boxes per register, one per 128-bit lane: [dx dy dw dh | dx dy dw dh].
SSD_AVX2 inline __m256 decode2(__m256 d, __m256 a, __m256 weights, __m256 clip, bool order_yx) {
  if (order_yx) d = _mm256_permute_ps(d, _MM_SHUFFLE(2, 3, 0, 1));  // [ty tx th tw] → [tx ty tw th]
  const __m256 q = _mm256_div_ps(d, weights);
  const __m256 awh = _mm256_permute_ps(a, _MM_SHUFFLE(3, 2, 3, 2));      // [aw ah aw ah]
  const __m256 acxy = _mm256_permute_ps(a, _MM_SHUFFLE(1, 0, 1, 0));     // [acx acy acx acy]
  const __m256 ctr = _mm256_add_ps(_mm256_mul_ps(q, awh), acxy);         // lanes 0,1: cx, cy
  const __m256 wh = _mm256_mul_ps(exp256(_mm256_min_ps(clip, q)), awh);  // lanes 2,3: w, h (NaN q stays NaN)
  const __m256 half = _mm256_permute_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), wh), _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 c2 = _mm256_permute_ps(ctr, _MM_SHUFFLE(1, 0, 1, 0));
  return _mm256_blend_ps(_mm256_sub_ps(c2, half), _mm256_add_ps(c2, half), 0xCC);
}

SSD_AVX2 void decode(const float* d, const float* a, float* out, size_t n, const CoderParams& p) {
  const __m256 weights = _mm256_setr_ps(p.wx, p.wy, p.ww, p.wh, p.wx, p.wy, p.ww, p.wh);
  const __m256 clip = _mm256_set1_ps(p.bbox_clip);
  size_t i = 0;
  for (; i + 2 <= n; i += 2)
    _mm256_storeu_ps(out + 4 * i,
                     decode2(_mm256_loadu_ps(d + 4 * i), _mm256_loadu_ps(a + 4 * i), weights, clip, p.order_yx));
  if (i < n) {
    const __m256i tm = tail_mask(4);
    const __m256 r =
        decode2(_mm256_maskload_ps(d + 4 * i, tm), _mm256_maskload_ps(a + 4 * i, tm), weights, clip, p.order_yx);
    _mm256_maskstore_ps(out + 4 * i, tm, r);
  }
}

// IoU of `box` against 8 boxes, same operation order and operand order as iou_scalar(box, other).
struct BoxVec {
  __m256 x1, y1, x2, y2, area;
};

SSD_AVX2 inline __m256 iou8(const BoxVec& b, const KeptBoxes& k, size_t j, __m256i tm, bool masked) {
  const __m256i m = masked ? tm : _mm256_set1_epi32(-1);
  auto load = [&](const float* p) SSD_AVX2 { return masked ? _mm256_maskload_ps(p + j, tm) : _mm256_loadu_ps(p + j); };
  const __m256 kx1 = load(k.x1), ky1 = load(k.y1), kx2 = load(k.x2), ky2 = load(k.y2), karea = load(k.area);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 w = _mm256_max_ps(_mm256_sub_ps(_mm256_min_ps(b.x2, kx2), _mm256_max_ps(b.x1, kx1)), zero);
  const __m256 h = _mm256_max_ps(_mm256_sub_ps(_mm256_min_ps(b.y2, ky2), _mm256_max_ps(b.y1, ky1)), zero);
  const __m256 inter = _mm256_mul_ps(w, h);
  const __m256 uni = _mm256_sub_ps(_mm256_add_ps(b.area, karea), inter);
  const __m256 r = _mm256_div_ps(inter, uni);
  const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(uni, zero, _CMP_GT_OQ), _mm256_cmp_ps(r, zero, _CMP_GE_OQ));
  return _mm256_and_ps(r, _mm256_and_ps(ok, _mm256_castsi256_ps(m)));
}

SSD_AVX2 inline BoxVec broadcast(const float box[4], float area) {
  return {_mm256_set1_ps(box[0]), _mm256_set1_ps(box[1]), _mm256_set1_ps(box[2]), _mm256_set1_ps(box[3]),
          _mm256_set1_ps(area)};
}

// any_iou_above computes iou_scalar(kept, box) while iou_row computes iou_scalar(box, other): max/min/+ are
// symmetric for finite values, and NMS only sees finite boxes, so one vector body serves both.
SSD_AVX2 bool any_iou_above(const float box[4], float area, const KeptBoxes& k, double threshold) {
  const BoxVec b = broadcast(box, area);
  const __m256 t = _mm256_set1_ps(float_floor(threshold));
  const __m256i none = _mm256_setzero_si256();
  size_t j = 0;
  for (; j + 8 <= k.count; j += 8)
    if (_mm256_movemask_ps(_mm256_cmp_ps(iou8(b, k, j, none, false), t, _CMP_GT_OQ))) return true;
  if (j < k.count)
    return _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(iou8(b, k, j, tail_mask(k.count - j), true), t, _CMP_GT_OQ),
                                            _mm256_castsi256_ps(tail_mask(k.count - j)))) != 0;
  return false;
}

SSD_AVX2 void iou_row(const float box[4], float area, const KeptBoxes& k, float* out) {
  const BoxVec b = broadcast(box, area);
  const __m256i none = _mm256_setzero_si256();
  size_t j = 0;
  for (; j + 8 <= k.count; j += 8) _mm256_storeu_ps(out + j, iou8(b, k, j, none, false));
  if (j < k.count) {
    const __m256i tm = tail_mask(k.count - j);
    _mm256_maskstore_ps(out + j, tm, iou8(b, k, j, tm, true));
  }
}

const Kernels kAvx2{"avx2", softmax_rows, exp_sums, sigmoid, decode, any_iou_above, iou_row};

}  // namespace

const Kernels* avx2_kernels() { return &kAvx2; }

}  // namespace ssd

#else
namespace ssd {
const Kernels* avx2_kernels() { return nullptr; }
}  // namespace ssd
#endif
