// Network-input preparation from packed 8-bit pixels: bilinear resize through per-axis tap tables, channel
// order, normalization x' = x·scale[c] + bias[c] (scale = 1/std, bias = −mean/std), NCHW or NHWC float32.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ssd {

// Per-axis taps: output index d reads source indices i0[d], i1[d] with weights w0[d], w1[d]; pad[d] is the
// weight that falls outside the image (filled with pad_value). Built by lib/image/preprocess.ts.
struct AxisTaps {
  const int32_t* i0;
  const int32_t* i1;
  const float* w0;
  const float* w1;
  const float* pad;
};

struct TensorLayout {
  int out_w, out_h;
  size_t offset;               // first element written in `out`
  size_t c_stride, p_stride;   // NCHW: plane, 1; NHWC: 1, 3
  size_t dst_r, dst_g, dst_b;  // output channel slot of the source R, G, B (colour order)
  float scale[3], bias[3];     // per source channel R, G, B
};

// Same size: no resize. `src` has `channels` (3 or 4) bytes per pixel, rows packed.
void preprocess_same_size(const uint8_t* src, int channels, const TensorLayout& l, float* out);
// Bilinear resize through the tables; pad_value fills the weight outside the image.
void preprocess_resize(const uint8_t* src, int width, int channels, const AxisTaps& x, const AxisTaps& y,
                       float pad_value, const TensorLayout& l, float* out);

}  // namespace ssd
