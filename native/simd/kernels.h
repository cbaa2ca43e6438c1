// The hot loops, one table per instruction set. kernels_scalar.cc is the reference and always compiled;
// kernels_avx2.cc (x86-64, AVX2+FMA via function attributes) and kernels_neon.cc (arm64) are optional.
// Every variant must give bit-identical IoU/NMS decisions; decode and scores may differ from scalar by a
// few ulp (vector exp).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include "../core/types.h"

namespace ssd {

// Kept boxes of a greedy NMS in structure-of-arrays form (padded, so kernels may read whole vectors).
struct KeptBoxes {
  float* x1;
  float* y1;
  float* x2;
  float* y2;
  float* area;
  size_t count;
};

struct Kernels {
  const char* name;
  // out[r, :] = softmax(in[r, :]) over `cols` columns, for `rows` rows.
  void (*softmax_rows)(const float* in, float* out, size_t rows, size_t cols);
  // Per row: max_out[r] = max of the row, sum_out[r] = Σ exp(x − max) summed as softmax_rows sums it (the pieces
  // of log-softmax and cross-entropy: log p_c = (x_c − max) − log(sum)).
  void (*exp_sums)(const float* in, float* max_out, float* sum_out, size_t rows, size_t cols);
  // out[i] = 1 / (1 + exp(-in[i])).
  void (*sigmoid)(const float* in, float* out, size_t n);
  // Decode n boxes: deltas [n,4] in p's order, anchors [n,4] cxcywh → out [n,4] xyxy.
  void (*decode)(const float* deltas, const float* anchors_cxcywh, float* out, size_t n, const CoderParams& p);
  // True when IoU(box, kept[k]) > threshold for some k (float32 IoU; 0 when union <= 0 or NaN).
  bool (*any_iou_above)(const float box[4], float box_area, const KeptBoxes& kept, double threshold);
  // out[k] = IoU(box, b[k]) for k < n, b in structure-of-arrays form.
  void (*iou_row)(const float box[4], float box_area, const KeptBoxes& b, float* out);
};

const Kernels& scalar_kernels();
// Null when the variant is not compiled for this target.
const Kernels* avx2_kernels();
const Kernels* neon_kernels();

// Scalar float32 IoU exactly as torchvision computes it, with the degenerate cases mapped to 0.
// Shared by every variant for tails and by the non-vector ops.
inline float iou_scalar(const float* a, float area_a, const float* b, float area_b) {
  const float xx1 = a[0] > b[0] ? a[0] : b[0];
  const float yy1 = a[1] > b[1] ? a[1] : b[1];
  const float xx2 = a[2] < b[2] ? a[2] : b[2];
  const float yy2 = a[3] < b[3] ? a[3] : b[3];
  const float w = xx2 - xx1 > 0.f ? xx2 - xx1 : 0.f;
  const float h = yy2 - yy1 > 0.f ? yy2 - yy1 : 0.f;
  const float inter = w * h;
  const float uni = (area_a + area_b) - inter;
  const float r = inter / uni;
  return (uni > 0.f && r >= 0.f) ? r : 0.f;  // zero/negative/NaN union or NaN ratio → 0
}

// The largest float <= t: for a float x, (double)x > t  <=>  x > float_floor(t). Lets vector code compare
// float IoUs with a double threshold exactly as torchvision does.
inline float float_floor(double t) {
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = __builtin_nextafterf(f, -__builtin_inff());
  return f;
}

inline float box_area(const float* b) { return (b[2] - b[0]) * (b[3] - b[1]); }

// All four coordinates finite. NMS, soft-NMS and the grid give a box that is not IoU 0 with everything.
inline bool finite_box(const float* b) {
  return std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]);
}

// expf as torch computes it on CPU (SLEEF's expf_u10 algorithm: Cody-Waite reduction by ln 2, degree-5
// polynomial with FMA, two-step ldexp; 0 below -104, +inf above 100). Every variant uses this exact
// sequence of roundings, so scalar, AVX2, NEON, the TypeScript twin and torch agree bit for bit.
namespace sleef {
constexpr float kLog2e = 1.442695040888963407359924681001892137f;
constexpr float kL2U = 0.693145751953125f;
constexpr float kL2L = 1.428606765330187045e-06f;
constexpr float kC0 = 0.000198527617612853646278381f, kC1 = 0.00139304355252534151077271f,
                kC2 = 0.00833336077630519866943359f, kC3 = 0.0416664853692054748535156f,
                kC4 = 0.166666671633720397949219f, kC5 = 0.5f;
}  // namespace sleef
float expf_sleef(float x);

}  // namespace ssd
