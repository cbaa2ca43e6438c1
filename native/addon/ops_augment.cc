// N-API wrapper of the augmentation's pixel work: augmentPixels(src, width, height, plan, out, outWidth, outHeight).
#include <napi.h>

#include <string>

#include "../core/augment.h"
#include "convert.h"
#include "ops.h"

namespace ssd::addon {

// plan: Float64Array of kAugmentParamCount values (lib/train/augment.ts planVector). No JS runs between the checks
// and the use of the pointers (only typed arrays and numbers are read).
Napi::Value AugmentPixels(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      type_error(env, "Uint8Array", "src", info[0]);
    const int w = static_cast<int>(count(info[1], "width", false)),
              h = static_cast<int>(count(info[2], "height", false));
    if (w < 1 || h < 1)
      range_error(env, "a positive width and height", w < 1 ? "width" : "height", info[w < 1 ? 1 : 2]);
    const size_t need = static_cast<size_t>(w) * h * 3;
    if (info[0].As<Napi::TypedArray>().ElementLength() != need)
      type_error(env, "Uint8Array of length width·height·3 = " + std::to_string(need), "src", info[0]);
    const auto plan = f64(info[3], "plan");
    if (plan.length != kAugmentParamCount)
      type_error(env, "Float64Array of length " + std::to_string(kAugmentParamCount), "plan", info[3]);
    const AugmentParams p = params_from_vector(plan.data);
    if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      type_error(env, "Uint8Array", "out", info[4]);
    const int ow = static_cast<int>(count(info[5], "outWidth", false)),
              oh = static_cast<int>(count(info[6], "outHeight", false));
    if (ow < 1 || ow > 8192 || oh < 1 || oh > 8192)
      range_error(env, "integer in [1, 8192]", ow < 1 || ow > 8192 ? "outWidth" : "outHeight",
                  info[ow < 1 || ow > 8192 ? 5 : 6]);
    const size_t out_need = static_cast<size_t>(ow) * oh * 3;
    if (info[4].As<Napi::TypedArray>().ElementLength() != out_need)
      type_error(env, "Uint8Array of length outWidth·outHeight·3 = " + std::to_string(out_need), "out", info[4]);
    augment_pixels(static_cast<const uint8_t*>(data_of(info[0])), w, h, p, static_cast<uint8_t*>(data_of(info[4])), ow,
                   oh);
    return env.Undefined();
  });
}

}  // namespace ssd::addon
