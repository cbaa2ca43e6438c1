#include "postprocess_job.h"

#include "convert.h"

#include <cmath>

namespace ssd::addon {

void PostprocessJob::parse(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[6].IsObject()) type_error(env, "object", "options", info[6]);
  const auto o = info[6].As<Napi::Object>();
  const Napi::Value scoring = o.Get("scoring");
  const std::string sc = scoring.IsString() ? scoring.As<Napi::String>().Utf8Value() : "";
  if (sc == "softmax")
    params.scoring = Scoring::Softmax;
  else if (sc == "sigmoid")
    params.scoring = Scoring::Sigmoid;
  else if (sc == "none")
    params.scoring = Scoring::Identity;
  else
    type_error(env, "'softmax' | 'sigmoid' | 'none'", "options.scoring", scoring);
  params.decoded = boolean(o.Get("boxesDecoded"), "options.boxesDecoded");
  const double bg = number(o.Get("backgroundIndex"), "options.backgroundIndex", -1, 2147483647.0, "integer >= -1");
  if (bg != std::floor(bg)) range_error(env, "integer >= -1", "options.backgroundIndex", o.Get("backgroundIndex"));
  params.background = static_cast<int>(bg);
  params.score_thresh =
      static_cast<float>(number(o.Get("scoreThresh"), "options.scoreThresh", -1e30, 1e30, "finite number"));
  params.nms_thresh = number(o.Get("nmsThresh"), "options.nmsThresh", 0, 1, "number in [0, 1]");
  params.topk = count(o.Get("topkCandidates"), "options.topkCandidates", true);
  params.detections = count(o.Get("detectionsPerImg"), "options.detectionsPerImg", true);
  const auto w = f32(o.Get("weights"), "options.weights");
  if (w.length != 4) type_error(env, "Float32Array of length 4", "options.weights", o.Get("weights"));
  for (size_t i = 0; i < 4; ++i)
    if (!(w.data[i] > 0.f && w.data[i] < 3.4e38f))
      range_error(env, "positive finite weights", "options.weights", o.Get("weights"));
  params.coder.wx = w.data[0], params.coder.wy = w.data[1], params.coder.ww = w.data[2], params.coder.wh = w.data[3];
  params.coder.order_yx = boolean(o.Get("orderYx"), "options.orderYx");
  params.coder.bbox_clip =
      static_cast<float>(number(o.Get("bboxClip"), "options.bboxClip", -1e30, 1e30, "finite number"));
  params.clip = boolean(o.Get("clipBoxes"), "options.clipBoxes");
  params.class_agnostic = o.Has("classAgnostic") && boolean(o.Get("classAgnostic"), "options.classAgnostic");
  const auto reg_v = f32(info[0], "boxRegression", 4, "4·B·N");
  const auto logits_v = f32(info[1], "classLogits");
  const auto anchors_v = f32(info[2], "anchors", 4, "4·N");
  batch = static_cast<size_t>(count(info[3], "batchSize", false));
  num_classes = static_cast<size_t>(count(info[4], "numClasses", false));
  const auto sizes_v = f32(info[5], "imageSizes", 2, "2·B");
  // Decoded-box models need no anchors: an empty array lets N follow from boxRegression.
  num_anchors = params.decoded && anchors_v.length == 0 && batch > 0 ? reg_v.length / 4 / batch : anchors_v.length / 4;
  if (num_classes < 1) range_error(env, "integer >= 1", "numClasses", info[4]);
  if (static_cast<double>(batch) * static_cast<double>(num_anchors) * static_cast<double>(num_classes) > 4e18)
    range_error(env, "B·N·C that fits in memory", "batchSize", info[3]);
  if (reg_v.length != 4 * batch * num_anchors)
    type_error(env, "Float32Array of length 4·B·N = " + std::to_string(4 * batch * num_anchors), "boxRegression",
               info[0]);
  if (logits_v.length != batch * num_anchors * num_classes)
    type_error(env, "Float32Array of length B·N·C = " + std::to_string(batch * num_anchors * num_classes),
               "classLogits", info[1]);
  if (sizes_v.length != 2 * batch)
    type_error(env, "Float32Array of length 2·B = " + std::to_string(2 * batch), "imageSizes", info[5]);
  for (size_t i = 0; i < sizes_v.length; ++i)
    if (!(sizes_v.data[i] > 0.f && sizes_v.data[i] < 3.4e38f))
      range_error(env, "positive finite sizes", "imageSizes", info[5]);
  reg = reg_v.data, logits = logits_v.data, anchors = anchors_v.data;
  image_hw.assign(sizes_v.data, sizes_v.data + sizes_v.length);
}

void PostprocessJob::own_inputs() {
  owned_reg.assign(reg, reg + 4 * batch * num_anchors);
  owned_logits.assign(logits, logits + batch * num_anchors * num_classes);
  if (!params.decoded) owned_anchors.assign(anchors, anchors + 4 * num_anchors);
  reg = owned_reg.data(), logits = owned_logits.data(), anchors = owned_anchors.data();
}

void PostprocessJob::run() {
  results.resize(batch);
  thread_local PostprocessWorkspace ws;  // reused across calls on the same thread
  for (size_t b = 0; b < batch; ++b)
    postprocess(reg + b * num_anchors * 4, logits + b * num_anchors * num_classes, anchors, num_anchors, num_classes,
                image_hw[2 * b], image_hw[2 * b + 1], params, results[b], ws);
  ws.trim();
}

Napi::Array PostprocessJob::to_js(Napi::Env env) const {
  auto arr = Napi::Array::New(env, results.size());
  for (size_t b = 0; b < results.size(); ++b) {
    const Detections& d = results[b];
    auto obj = Napi::Object::New(env);
    obj.Set("boxes", new_f32(env, d.boxes.data(), d.boxes.size()));
    obj.Set("scores", new_f32(env, d.scores.data(), d.scores.size()));
    obj.Set("labels", new_i32(env, d.labels));
    arr.Set(static_cast<uint32_t>(b), obj);
  }
  return arr;
}

}  // namespace ssd::addon
