// N-API wrappers for training-time ops: matchAnchors, hardNegativeMining, ssdLossParts.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../core/loss.h"
#include "../core/matcher.h"
#include "convert.h"
#include "ops.h"

namespace ssd::addon {
namespace {

// Positives of hard negative mining as a 0/1 mask: a Uint8Array (non-zero = positive) or an Int32Array of matched
// gt indices (>= 0 = positive), one per anchor.
std::vector<uint8_t> positive_mask(const Napi::Value& v, size_t n) {
  const std::string expected = "Uint8Array or Int32Array of length N = " + std::to_string(n);
  if (!v.IsTypedArray()) type_error(v.Env(), expected, "positives", v);
  const auto t = v.As<Napi::TypedArray>();
  if ((t.TypedArrayType() != napi_uint8_array && t.TypedArrayType() != napi_int32_array) || t.ElementLength() != n)
    type_error(v.Env(), expected, "positives", v);
  std::vector<uint8_t> mask(n);
  if (t.TypedArrayType() == napi_uint8_array) {
    const auto* p = static_cast<const uint8_t*>(data_of(v));
    for (size_t i = 0; i < n; ++i) mask[i] = p[i] != 0;
  } else {
    const auto* p = static_cast<const int32_t*>(data_of(v));
    for (size_t i = 0; i < n; ++i) mask[i] = p[i] >= 0;
  }
  return mask;
}

}  // namespace

// matchAnchors(gtBoxes, anchors, anchorCxcywh, iouThreshold, allowLowQuality) → Int32Array [N]
Napi::Value MatchAnchors(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto gt = f32(info[0], "gtBoxes", 4, "4·M");
    const auto anchors = f32(info[1], "anchors", 4, "4·N");
    const bool cxcywh = boolean(info[2], "anchorCxcywh");
    const float thr = static_cast<float>(number(info[3], "iouThreshold", 0, 1, "number in [0, 1]"));
    const bool low_quality = boolean(info[4], "allowLowQuality");
    const size_t n = anchors.length / 4;
    auto out = Napi::Int32Array::New(info.Env(), n);
    match_anchors(gt.data, gt.length / 4, anchors.data, n, cxcywh, thr, low_quality, out.Data());
    return out;
  });
}

// hardNegativeMining(clsLoss, positives, negPosRatio) → Int32Array of anchor indices, ascending
Napi::Value HardNegativeMining(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto loss = f32(info[0], "clsLoss");
    const auto mask = positive_mask(info[1], loss.length);
    const double ratio = number(info[2], "negPosRatio", 0, INFINITY, "number >= 0");
    return new_i32(info.Env(), hard_negatives(loss.data, mask.data(), loss.length, ratio));
  });
}

// ssdLossParts(classLogits, boxRegression, anchors, anchorCxcywh, gtBoxes, gtLabels, numClasses, iouThreshold,
//              negPosRatio, weights, orderYx) → { matchedIdxs, foregroundIdxs, encodedTargets, clsLossPerAnchor,
//              smoothL1Sum, positiveClsSum, hardNegativeIdxs, hardNegativeClsSum, numPositive }
Napi::Value SsdLossParts(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Napi::Env env = info.Env();
    const auto anchors = f32(info[2], "anchors", 4, "4·N");
    const size_t n = anchors.length / 4;
    const int64_t c = count(info[6], "numClasses", false);
    if (c < 1) range_error(env, "integer >= 1", "numClasses", info[6]);
    const auto logits = f32(info[0], "classLogits");
    if (logits.length != n * static_cast<size_t>(c))
      type_error(env, "Float32Array of length N·numClasses = " + std::to_string(n * static_cast<size_t>(c)),
                 "classLogits", info[0]);
    const auto reg = f32(info[1], "boxRegression");
    if (reg.length != 4 * n)
      type_error(env, "Float32Array of length 4·N = " + std::to_string(4 * n), "boxRegression", info[1]);
    const bool cxcywh = boolean(info[3], "anchorCxcywh");
    const auto gt = f32(info[4], "gtBoxes", 4, "4·M");
    const auto labels = i32(info[5], "gtLabels");
    const size_t m = gt.length / 4;
    if (labels.length != m) type_error(env, "Int32Array of length M = " + std::to_string(m), "gtLabels", info[5]);
    for (size_t j = 0; j < m; ++j)
      if (labels.data[j] < 0 || labels.data[j] >= c)
        range_error(env, "labels in [0, " + std::to_string(c - 1) + "]", "gtLabels", info[5]);
    LossParams p;
    p.iou_threshold = static_cast<float>(number(info[7], "iouThreshold", 0, 1, "number in [0, 1]"));
    p.neg_pos_ratio = number(info[8], "negPosRatio", 0, INFINITY, "number >= 0");
    p.coder = coder_params(info, 9, 10);
    const LossImage img{logits.data, reg.data, anchors.data, cxcywh, n, static_cast<size_t>(c), gt.data,
                        labels.data, m};
    const LossParts r = ssd_loss_parts(img, p);
    auto o = Napi::Object::New(env);
    o.Set("matchedIdxs", new_i32(env, r.matched));
    o.Set("foregroundIdxs", new_i32(env, r.foreground));
    o.Set("encodedTargets", new_f32(env, r.encoded.data(), r.encoded.size()));
    o.Set("clsLossPerAnchor", new_f32(env, r.cls_loss.data(), r.cls_loss.size()));
    o.Set("smoothL1Sum", r.smooth_l1_sum);
    o.Set("positiveClsSum", r.positive_cls_sum);
    o.Set("hardNegativeIdxs", new_i32(env, r.hard_negatives));
    o.Set("hardNegativeClsSum", r.hard_negative_cls_sum);
    o.Set("numPositive", static_cast<double>(r.num_positive));
    return o;
  });
}

}  // namespace ssd::addon
