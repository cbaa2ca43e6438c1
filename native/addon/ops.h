// The addon's op wrappers (one file per group: ops_boxes.cc, ops_nms.cc, ops_postprocess.cc, ops_preprocess.cc,
// ops_simd.cc, ops_training.cc) and what they share. binding.cc only registers them.
// C++ exceptions are on (NAPI_CPP_EXCEPTIONS): core InvalidArgument → RangeError, anything else → Error.
#pragma once
#include <napi.h>

#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/types.h"

namespace ssd::addon {

constexpr size_t kMaxElements = size_t(1) << 31;  // typed-array results are capped at 2^31 elements

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const InvalidArgument& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(info.Env(), "ssd-edge: out of memory for this input size");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

inline Napi::Array strings(Napi::Env env, const std::vector<std::string>& v) {
  auto a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

// Box-coder parameters from info[wi] (weights) and info[oi] (order, clip); shared by box ops and the loss.
CoderParams coder_params(const Napi::CallbackInfo& info, size_t wi, size_t oi);

Napi::Value Capabilities(const Napi::CallbackInfo& info);
Napi::Value SetSimd(const Napi::CallbackInfo& info);
Napi::Value DefaultBoxes(const Napi::CallbackInfo& info);
Napi::Value EncodeBoxes(const Napi::CallbackInfo& info);
Napi::Value DecodeBoxes(const Napi::CallbackInfo& info);
Napi::Value BoxIou(const Napi::CallbackInfo& info);
Napi::Value Nms(const Napi::CallbackInfo& info);
Napi::Value BatchedNms(const Napi::CallbackInfo& info);
Napi::Value SoftNms(const Napi::CallbackInfo& info);
Napi::Value MatchAnchors(const Napi::CallbackInfo& info);
Napi::Value HardNegativeMining(const Napi::CallbackInfo& info);
Napi::Value SsdLossParts(const Napi::CallbackInfo& info);
Napi::Value Postprocess(const Napi::CallbackInfo& info);
Napi::Value PostprocessAsyncGuarded(const Napi::CallbackInfo& info);
Napi::Value PreprocessPixels(const Napi::CallbackInfo& info);
Napi::Value AugmentPixels(const Napi::CallbackInfo& info);

}  // namespace ssd::addon
