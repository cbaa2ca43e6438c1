// N-API registration only: the op wrappers live in ops_*.cc (declared in ops.h).
#include <napi.h>

#include "ops.h"

namespace ssd::addon {
namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("preprocessPixels", Napi::Function::New(env, PreprocessPixels, "preprocessPixels"));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd, "setSimd"));
  exports.Set("defaultBoxes", Napi::Function::New(env, DefaultBoxes, "defaultBoxes"));
  exports.Set("encodeBoxes", Napi::Function::New(env, EncodeBoxes, "encodeBoxes"));
  exports.Set("decodeBoxes", Napi::Function::New(env, DecodeBoxes, "decodeBoxes"));
  exports.Set("boxIou", Napi::Function::New(env, BoxIou, "boxIou"));
  exports.Set("nms", Napi::Function::New(env, Nms, "nms"));
  exports.Set("batchedNms", Napi::Function::New(env, BatchedNms, "batchedNms"));
  exports.Set("softNms", Napi::Function::New(env, SoftNms, "softNms"));
  exports.Set("matchAnchors", Napi::Function::New(env, MatchAnchors, "matchAnchors"));
  exports.Set("hardNegativeMining", Napi::Function::New(env, HardNegativeMining, "hardNegativeMining"));
  exports.Set("ssdLossParts", Napi::Function::New(env, SsdLossParts, "ssdLossParts"));
  exports.Set("postprocess", Napi::Function::New(env, Postprocess, "postprocess"));
  exports.Set("augmentPixels", Napi::Function::New(env, AugmentPixels, "augmentPixels"));
  exports.Set("postprocessAsync", Napi::Function::New(env, PostprocessAsyncGuarded, "postprocessAsync"));
  return exports;
}

}  // namespace
}  // namespace ssd::addon

static Napi::Object InitSsdEdge(Napi::Env env, Napi::Object exports) { return ssd::addon::Init(env, exports); }

NODE_API_MODULE(ssd_edge, InitSsdEdge)
