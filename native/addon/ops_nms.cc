// N-API wrappers for NMS: nms, batchedNms, softNms.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../core/nms.h"
#include "convert.h"
#include "ops.h"

namespace ssd::addon {
namespace {

struct NmsArgs {
  View<const float> boxes, scores;
  double iou;
  float score_thr;
};

NmsArgs nms_args(const Napi::CallbackInfo& info, size_t iou_at) {
  NmsArgs a{f32(info[0], "boxes", 4, "4·N"), f32(info[1], "scores"), 0, 0};
  if (a.scores.length != a.boxes.length / 4)
    type_error(info.Env(), "Float32Array of length N = " + std::to_string(a.boxes.length / 4), "scores", info[1]);
  a.iou = number(info[iou_at], "iouThreshold", 0, 1, "number in [0, 1]");
  // Any number but NaN; beyond the float range it becomes ±Infinity, as the TypeScript twin compares it.
  a.score_thr = to_float(number(info[iou_at + 1], "scoreThreshold", -INFINITY, INFINITY, "number (not NaN)"));
  return a;
}

}  // namespace

Napi::Value Nms(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const NmsArgs a = nms_args(info, 2);
    const int64_t top_k = count(info[4], "topK", true), max_out = count(info[5], "maxOutput", true);
    return new_i32(info.Env(), nms(a.boxes.data, a.scores.data, a.scores.length, a.iou, a.score_thr, top_k, max_out));
  });
}

Napi::Value BatchedNms(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto ids = i32(info[2], "classIds");
    const NmsArgs a = nms_args(info, 3);
    if (ids.length != a.scores.length)
      type_error(info.Env(), "Int32Array of length N = " + std::to_string(a.scores.length), "classIds", info[2]);
    const int64_t max_out = count(info[5], "maxOutput", true);
    return new_i32(info.Env(),
                   batched_nms(a.boxes.data, a.scores.data, ids.data, a.scores.length, a.iou, a.score_thr, max_out));
  });
}

Napi::Value SoftNms(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto boxes = f32(info[0], "boxes", 4, "4·N");
    const auto scores = f32(info[1], "scores");
    if (scores.length != boxes.length / 4)
      type_error(info.Env(), "Float32Array of length N = " + std::to_string(boxes.length / 4), "scores", info[1]);
    const double sigma = number(info[2], "sigma", 1e-30, 1e30, "positive number");
    const double iou = number(info[3], "iouThreshold", -1, 1, "number in [0, 1] (or -1 to decay all)");
    const double thr = number(info[4], "scoreThreshold", -3.4e38, 3.4e38, "finite number");
    const int64_t max_out = count(info[5], "maxOutput", true);
    std::vector<int32_t> idx;
    std::vector<float> sc;
    soft_nms(boxes.data, scores.data, scores.length, static_cast<float>(sigma), iou, static_cast<float>(thr), max_out,
             idx, sc);
    auto o = Napi::Object::New(info.Env());
    o.Set("indices", new_i32(info.Env(), idx));
    o.Set("scores", new_f32(info.Env(), sc.data(), sc.size()));
    return o;
  });
}

}  // namespace ssd::addon
