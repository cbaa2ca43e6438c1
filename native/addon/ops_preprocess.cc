// N-API wrappers for network-input preprocessing: preprocessPixels (resize through tap tables, normalize, layout).
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../core/preprocess.h"
#include "convert.h"
#include "ops.h"

namespace ssd::addon {
namespace {

View<const uint8_t> bytes(const Napi::Value& v, const char* name) {
  if (v.IsTypedArray()) {
    const auto t = v.As<Napi::TypedArray>().TypedArrayType();
    if (t == napi_uint8_array || t == napi_uint8_clamped_array)
      return {static_cast<const uint8_t*>(data_of(v)), v.As<Napi::TypedArray>().ElementLength()};
  }
  type_error(v.Env(), "Uint8Array or Uint8ClampedArray", name, v);
}

// One axis of tap tables (values already read from the object): indices checked against the source size so a bad
// table can never read out of bounds.
AxisTaps taps(const Napi::Value* v, const char* axis, size_t out_n, int src_n) {
  const std::string p = std::string("taps.") + axis;
  const int32_t* idx[2];
  for (int k = 0; k < 2; ++k) {
    const std::string name = p + (k ? "i1" : "i0");
    const auto a = i32(v[k], name.c_str());
    if (a.length != out_n) type_error(v[k].Env(), "Int32Array of length " + std::to_string(out_n), name.c_str(), v[k]);
    for (size_t i = 0; i < a.length; ++i)
      if (a.data[i] < 0 || a.data[i] >= src_n)
        range_error(v[k].Env(), "indices in [0, " + std::to_string(src_n) + ")", name.c_str(), v[k]);
    idx[k] = a.data;
  }
  const float* w[3];
  static const char* names[] = {"w0", "w1", "pad"};
  for (int k = 0; k < 3; ++k) {
    const std::string name = p + names[k];
    const auto a = f32(v[2 + k], name.c_str());
    if (a.length != out_n)
      type_error(v[2 + k].Env(), "Float32Array of length " + std::to_string(out_n), name.c_str(), v[2 + k]);
    w[k] = a.data;
  }
  return {idx[0], idx[1], w[0], w[1], w[2]};
}

}  // namespace

// preprocessPixels(src, width, height, channels, out, layout, taps | null, padValue)
// Every object property is read (running any getter) before the first pointer into an array is taken, so JS code
// cannot detach a buffer between the checks and the use.
Napi::Value PreprocessPixels(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Napi::Env env = info.Env();
    if (!info[5].IsObject()) type_error(env, "object", "layout", info[5]);
    const auto o = info[5].As<Napi::Object>();
    const Napi::Value lw = o.Get("width"), lh = o.Get("height"), loff = o.Get("offset"), lnchw = o.Get("nchw"),
                      lbgr = o.Get("bgr"), lscale = o.Get("scale"), lbias = o.Get("bias");
    const bool resize = !(info[6].IsNull() || info[6].IsUndefined());
    if (resize && !info[6].IsObject()) type_error(env, "object or null", "taps", info[6]);
    Napi::Value tv[10];
    static const char* keys[] = {"xi0", "xi1", "xw0", "xw1", "xpad", "yi0", "yi1", "yw0", "yw1", "ypad"};
    if (resize)
      for (int k = 0; k < 10; ++k) tv[k] = info[6].As<Napi::Object>().Get(keys[k]);
    const float pad = resize ? static_cast<float>(number(info[7], "padValue", -1e30, 1e30, "finite number")) : 0.f;
    // From here on no JS runs.
    const auto src = bytes(info[0], "src");
    const int w = static_cast<int>(count(info[1], "width", false)),
              h = static_cast<int>(count(info[2], "height", false));
    const int ch = static_cast<int>(count(info[3], "channels", false));
    if (ch != 3 && ch != 4) range_error(env, "3 or 4", "channels", info[3]);
    if (w < 1 || h < 1)
      range_error(env, "a positive width and height", w < 1 ? "width" : "height", info[w < 1 ? 1 : 2]);
    if (src.length < static_cast<size_t>(w) * h * ch)
      type_error(env, "pixel data of length ≥ " + std::to_string(static_cast<size_t>(w) * h * ch), "src", info[0]);
    const auto out = typed<float, napi_float32_array>(info[4], "out", 1, "Float32Array", "");
    TensorLayout l{};
    l.out_w = static_cast<int>(count(lw, "layout.width", false));
    l.out_h = static_cast<int>(count(lh, "layout.height", false));
    l.offset = static_cast<size_t>(count(loff, "layout.offset", false));
    const bool nchw = boolean(lnchw, "layout.nchw"), bgr = boolean(lbgr, "layout.bgr");
    const size_t plane = static_cast<size_t>(l.out_w) * l.out_h;
    if (out.length < l.offset + 3 * plane)
      type_error(env, "Float32Array of length ≥ offset + 3·w·h = " + std::to_string(l.offset + 3 * plane), "out",
                 info[4]);
    l.c_stride = nchw ? plane : 1, l.p_stride = nchw ? 1 : 3;
    l.dst_r = bgr ? 2 : 0, l.dst_g = 1, l.dst_b = bgr ? 0 : 2;
    const auto sc = f32(lscale, "layout.scale"), bi = f32(lbias, "layout.bias");
    if (sc.length != 3 || bi.length != 3)
      type_error(env, "Float32Array of length 3", sc.length != 3 ? "layout.scale" : "layout.bias",
                 sc.length != 3 ? lscale : lbias);
    for (int k = 0; k < 3; ++k) l.scale[k] = sc.data[k], l.bias[k] = bi.data[k];
    if (!resize) {
      if (l.out_w != w || l.out_h != h)
        range_error(env, "taps when the output size differs from the image", "taps", info[6]);
      preprocess_same_size(src.data, ch, l, out.data);
      return env.Undefined();
    }
    const AxisTaps tx = taps(tv, "x", static_cast<size_t>(l.out_w), w),
                   ty = taps(tv + 5, "y", static_cast<size_t>(l.out_h), h);
    preprocess_resize(src.data, w, ch, tx, ty, pad, l, out.data);
    return env.Undefined();
  });
}

}  // namespace ssd::addon
