#include "augment.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../simd/augment_kernels.h"
#include "../simd/dispatch.h"
#include "types.h"

namespace ssd {
namespace {

constexpr double kLimit = 1073741824.0;  // 2^30: positions and crop sizes

inline float clamp255(float x) { return x < 0.f ? 0.f : (x > 255.f ? 255.f : x); }

double in_range(const double* v, size_t i, double lo, double hi, const char* name) {
  const double d = v[i];
  if (!(d >= lo && d <= hi))
    throw InvalidArgument(std::string("Expected number in [") + std::to_string(lo) + ", " + std::to_string(hi) +
                          "] for plan." + name + " but received " + std::to_string(d));
  return d;
}

int64_t integer(const double* v, size_t i, double lo, double hi, const char* name) {
  const double d = in_range(v, i, lo, hi, name);
  if (d != std::floor(d)) throw InvalidArgument(std::string("Expected integer for plan.") + name);
  return static_cast<int64_t>(d);
}

// Output index d -> two taps on the (flipped) crop, mapped to compact grid indices of the source pixels they read;
// the fill is the index after the last source (numbered in order of first use, as the TS twin does).
struct AxisMap {
  std::vector<int32_t> i0, i1;
  std::vector<float> w0, w1;
  std::vector<int64_t> src;
};

AxisMap axis_map(int out_n, int64_t crop_n, int64_t crop_start, bool flip, int64_t left, int src_n) {
  AxisMap m;
  m.i0.resize(out_n), m.i1.resize(out_n), m.w0.resize(out_n), m.w1.resize(out_n);
  std::vector<int32_t> pos(static_cast<size_t>(src_n), -1);
  std::vector<int64_t> raw0(out_n), raw1(out_n);
  const double scale = static_cast<double>(crop_n) / out_n;
  const int64_t last = crop_n - 1;
  auto to_source = [&](int64_t c) -> int64_t {
    const int64_t s = crop_start + (flip ? last - c : c) - left;
    return s >= 0 && s < src_n ? s : -1;
  };
  for (int d = 0; d < out_n; ++d) {
    double x = (d + 0.5) * scale - 0.5;
    if (x < 0) x = 0;
    int64_t lo = static_cast<int64_t>(std::floor(x));
    if (lo > last) lo = last;
    const int64_t hi = lo < last ? lo + 1 : lo;
    double lambda = x - static_cast<double>(lo);
    if (lambda > 1) lambda = 1;
    m.w0[d] = static_cast<float>(1.0 - lambda);
    m.w1[d] = static_cast<float>(lambda);
    raw0[d] = to_source(lo), raw1[d] = to_source(hi);
    for (const int64_t s : {raw0[d], raw1[d]})
      if (s >= 0 && pos[s] < 0) pos[s] = static_cast<int32_t>(m.src.size()), m.src.push_back(s);
  }
  const int32_t fill = static_cast<int32_t>(m.src.size());
  for (int d = 0; d < out_n; ++d) {
    m.i0[d] = raw0[d] >= 0 ? pos[raw0[d]] : fill;
    m.i1[d] = raw1[d] >= 0 ? pos[raw1[d]] : fill;
  }
  return m;
}

}  // namespace

AugmentParams params_from_vector(const double* v) {
  AugmentParams p;
  p.brightness = static_cast<float>(in_range(v, 0, -255, 255, "photometric.brightness"));
  p.contrast = static_cast<float>(in_range(v, 1, 0, 255, "photometric.contrast"));
  p.contrast_first = integer(v, 2, 0, 1, "photometric.contrastFirst") == 1;
  p.saturation = static_cast<float>(in_range(v, 3, 0, 255, "photometric.saturation"));
  p.hue = static_cast<float>(in_range(v, 4, -360, 360, "photometric.hue"));
  bool seen[3] = {false, false, false};
  for (int k = 0; k < 3; ++k) {
    p.swap[k] = static_cast<int>(integer(v, 5 + k, 0, 2, "photometric.swap"));
    if (seen[p.swap[k]]) throw InvalidArgument("Expected a permutation of [0, 1, 2] for plan.photometric.swap");
    seen[p.swap[k]] = true;
  }
  p.left = integer(v, 8, -kLimit, kLimit, "left");
  p.top = integer(v, 9, -kLimit, kLimit, "top");
  p.crop_x = integer(v, 10, -kLimit, kLimit, "crop.x");
  p.crop_y = integer(v, 11, -kLimit, kLimit, "crop.y");
  p.crop_w = integer(v, 12, 1, kLimit, "crop.width");
  p.crop_h = integer(v, 13, 1, kLimit, "crop.height");
  p.flip = integer(v, 14, 0, 1, "flip") == 1;
  for (int k = 0; k < 3; ++k) p.fill[k] = static_cast<float>(in_range(v, 15 + k, 0, 255, "fill"));
  return p;
}

namespace {

// The chain on one pixel's values in place (before the channel swap).
inline void photometric_values(float* v, const AugmentParams& p) {
  if (p.brightness != 0.f)
    for (int k = 0; k < 3; ++k) v[k] = clamp255(v[k] + p.brightness);
  if (p.contrast_first && p.contrast != 1.f)
    for (int k = 0; k < 3; ++k) v[k] = clamp255(v[k] * p.contrast);
  if (p.saturation != 1.f || p.hue != 0.f) {
    const float r = v[0], g = v[1], b = v[2];
    const float mx = std::max(r, std::max(g, b)), mn = std::min(r, std::min(g, b));
    const float d = mx - mn;
    float h = 0.f;
    if (d > 0.f) {  // (x − y) / d is in [−1, 1]: finite even when d is subnormal (60 / d would overflow)
      if (mx == r)
        h = (g - b) / d * 60.f;
      else if (mx == g)
        h = (b - r) / d * 60.f + 120.f;
      else
        h = (r - g) / d * 60.f + 240.f;
      if (h < 0.f) h = h + 360.f;
    }
    float s = mx > 0.f ? d / mx : 0.f;
    s = s * p.saturation;
    if (s > 1.f) s = 1.f;
    h = h + p.hue;
    if (h < 0.f) h = h + 360.f;
    if (h >= 360.f) h = h - 360.f;
    const float hh = h / 60.f;
    int sector = static_cast<int>(std::floor(hh));
    if (sector > 5) sector = 5;
    const float fr = hh - static_cast<float>(sector);
    const float P = mx * (1.f - s), Q = mx * (1.f - s * fr), T = mx * (1.f - s * (1.f - fr));
    switch (sector) {
      case 0:
        v[0] = mx, v[1] = T, v[2] = P;
        break;
      case 1:
        v[0] = Q, v[1] = mx, v[2] = P;
        break;
      case 2:
        v[0] = P, v[1] = mx, v[2] = T;
        break;
      case 3:
        v[0] = P, v[1] = Q, v[2] = mx;
        break;
      case 4:
        v[0] = T, v[1] = P, v[2] = mx;
        break;
      default:
        v[0] = mx, v[1] = P, v[2] = Q;
        break;
    }
  }
  if (!p.contrast_first && p.contrast != 1.f)
    for (int k = 0; k < 3; ++k) v[k] = clamp255(v[k] * p.contrast);
}

void photometric_planar_scalar(float* r, float* g, float* b, size_t n, const AugmentParams& p) {
  for (size_t i = 0; i < n; ++i) {
    float v[3] = {r[i], g[i], b[i]};
    photometric_values(v, p);
    r[i] = v[p.swap[0]], g[i] = v[p.swap[1]], b[i] = v[p.swap[2]];
  }
}

}  // namespace

void photometric_pixel(const uint8_t* rgb, const AugmentParams& p, float* out) {
  float v[3] = {static_cast<float>(rgb[0]), static_cast<float>(rgb[1]), static_cast<float>(rgb[2])};
  photometric_values(v, p);
  out[0] = v[p.swap[0]], out[1] = v[p.swap[1]], out[2] = v[p.swap[2]];
}

PhotometricPlanarFn photometric_planar_kernel() {
  const std::string level = kernels().name;
  if (level == "avx2")
    if (const PhotometricPlanarFn f = photometric_planar_avx2()) return f;
  if (level == "neon")
    if (const PhotometricPlanarFn f = photometric_planar_neon()) return f;
  return &photometric_planar_scalar;
}

void augment_pixels(const uint8_t* src, int width, int height, const AugmentParams& p, uint8_t* out, int out_w,
                    int out_h) {
  if (width < 1 || height < 1 || out_w < 1 || out_h < 1 || p.crop_w < 1 || p.crop_h < 1)
    throw InvalidArgument("augment: sizes must be >= 1");
  bool seen[3] = {false, false, false};
  for (const int k : p.swap) {
    if (k < 0 || k > 2 || seen[k]) throw InvalidArgument("augment: swap must be a permutation of 0, 1, 2");
    seen[k] = true;
  }
  const AxisMap mx = axis_map(out_w, p.crop_w, p.crop_x, p.flip, p.left, width);
  const AxisMap my = axis_map(out_h, p.crop_h, p.crop_y, false, p.top, height);
  const size_t nx = mx.src.size() + 1, ny = my.src.size() + 1;
  // The compact grid, planar: the photometric values of every source pixel a tap reads (one row per distinct source
  // row, one column per distinct source column), plus a fill row and column.
  const size_t cells = nx * ny;
  std::vector<float> grid(3 * cells);
  float* planes[3] = {grid.data(), grid.data() + cells, grid.data() + 2 * cells};
  const PhotometricPlanarFn photometric = photometric_planar_kernel();
  for (size_t j = 0; j + 1 < ny; ++j) {
    const uint8_t* srow = src + static_cast<size_t>(my.src[j]) * width * 3;
    float *r = planes[0] + j * nx, *g = planes[1] + j * nx, *b = planes[2] + j * nx;
    for (size_t i = 0; i + 1 < nx; ++i) {
      const uint8_t* px = srow + static_cast<size_t>(mx.src[i]) * 3;
      r[i] = px[0], g[i] = px[1], b[i] = px[2];
    }
    photometric(r, g, b, nx - 1, p);
  }
  for (int k = 0; k < 3; ++k) {
    for (size_t j = 0; j < ny; ++j) planes[k][j * nx + nx - 1] = p.fill[k];
    for (size_t i = 0; i < nx; ++i) planes[k][(ny - 1) * nx + i] = p.fill[k];
  }
  for (int y = 0; y < out_h; ++y) {
    const size_t r0 = static_cast<size_t>(my.i0[y]) * nx, r1 = static_cast<size_t>(my.i1[y]) * nx;
    const float wy0 = my.w0[y], wy1 = my.w1[y];
    uint8_t* o = out + static_cast<size_t>(y) * out_w * 3;
    for (int x = 0; x < out_w; ++x, o += 3) {
      const size_t a = static_cast<size_t>(mx.i0[x]), b = static_cast<size_t>(mx.i1[x]);
      const float u0 = mx.w0[x], u1 = mx.w1[x];
      for (int k = 0; k < 3; ++k) {
        const float* P = planes[k];
        const float top = u0 * P[r0 + a] + u1 * P[r0 + b];
        const float bottom = u0 * P[r1 + a] + u1 * P[r1 + b];
        const float v = wy0 * top + wy1 * bottom;
        const float q = std::floor(v + 0.5f);
        o[k] = static_cast<uint8_t>(q < 0.f ? 0.f : (q > 255.f ? 255.f : q));
      }
    }
  }
}

}  // namespace ssd
