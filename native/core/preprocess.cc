#include "preprocess.h"

namespace ssd {

void preprocess_same_size(const uint8_t* src, int channels, const TensorLayout& l, float* out) {
  const size_t n = static_cast<size_t>(l.out_w) * l.out_h;
  float* r = out + l.offset + l.dst_r * l.c_stride;
  float* g = out + l.offset + l.dst_g * l.c_stride;
  float* b = out + l.offset + l.dst_b * l.c_stride;
  const float sr = l.scale[0], sg = l.scale[1], sb = l.scale[2], br = l.bias[0], bg = l.bias[1], bb = l.bias[2];
  const size_t ps = l.p_stride, ch = static_cast<size_t>(channels);
  if (ps == 1) {  // planar: three independent streams the compiler vectorizes
    for (size_t p = 0; p < n; ++p) {
      const uint8_t* s = src + p * ch;
      r[p] = static_cast<float>(s[0]) * sr + br;
      g[p] = static_cast<float>(s[1]) * sg + bg;
      b[p] = static_cast<float>(s[2]) * sb + bb;
    }
    return;
  }
  for (size_t p = 0; p < n; ++p) {
    const uint8_t* s = src + p * ch;
    r[p * ps] = static_cast<float>(s[0]) * sr + br;
    g[p * ps] = static_cast<float>(s[1]) * sg + bg;
    b[p * ps] = static_cast<float>(s[2]) * sb + bb;
  }
}

void preprocess_resize(const uint8_t* src, int width, int channels, const AxisTaps& x, const AxisTaps& y,
                       float pad_value, const TensorLayout& l, float* out) {
  const size_t ch = static_cast<size_t>(channels), row = static_cast<size_t>(width) * ch;
  const size_t ps = l.p_stride;
  float* r = out + l.offset + l.dst_r * l.c_stride;
  float* g = out + l.offset + l.dst_g * l.c_stride;
  float* b = out + l.offset + l.dst_b * l.c_stride;
  for (int yy = 0; yy < l.out_h; ++yy) {
    const uint8_t* r0 = src + static_cast<size_t>(y.i0[yy]) * row;
    const uint8_t* r1 = src + static_cast<size_t>(y.i1[yy]) * row;
    const float wy0 = y.w0[yy], wy1 = y.w1[yy], py = y.pad[yy];
    const size_t base = static_cast<size_t>(yy) * l.out_w;
    for (int xx = 0; xx < l.out_w; ++xx) {
      const size_t a = static_cast<size_t>(x.i0[xx]) * ch, c = static_cast<size_t>(x.i1[xx]) * ch;
      const float u0 = x.w0[xx], u1 = x.w1[xx];
      float v[3];
      for (int k = 0; k < 3; ++k)
        v[k] = wy0 * (u0 * r0[a + k] + u1 * r0[c + k]) + wy1 * (u0 * r1[a + k] + u1 * r1[c + k]);
      if (pad_value != 0.f) {
        const float fill = pad_value * (1.f - (1.f - py) * (1.f - x.pad[xx]));
        v[0] += fill, v[1] += fill, v[2] += fill;
      }
      const size_t o = (base + xx) * ps;
      r[o] = v[0] * l.scale[0] + l.bias[0];
      g[o] = v[1] * l.scale[1] + l.bias[1];
      b[o] = v[2] * l.scale[2] + l.bias[2];
    }
  }
}

}  // namespace ssd
