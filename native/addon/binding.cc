// N-API registration and thin wrappers: convert arguments (convert.h), call the core, wrap results.
// C++ exceptions are on (NAPI_CPP_EXCEPTIONS): core InvalidArgument → RangeError, anything else → Error.
#include <napi.h>

#include <cmath>

#include "../core/box_coder.h"
#include "../core/iou.h"
#include "../core/loss.h"
#include "../core/matcher.h"
#include "../core/nms.h"
#include "../core/pixels.h"
#include "../core/priors.h"
#include "../simd/dispatch.h"
#include "convert.h"
#include "postprocess_job.h"
#include "worker.h"

namespace ssd::addon {
namespace {

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

Napi::Array strings(Napi::Env env, const std::vector<std::string>& v) {
  auto a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("compiled", strings(info.Env(), compiled_levels()));
  o.Set("supported", strings(info.Env(), supported_levels()));
  o.Set("active", kernels().name);
  return o;
}

Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (!info[0].IsString()) type_error(info.Env(), "'auto' | 'scalar' | 'avx2' | 'neon'", "level", info[0]);
    return Napi::String::New(info.Env(), set_level(info[0].As<Napi::String>().Utf8Value()));
  });
}

Napi::Value DefaultBoxes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const int h = static_cast<int>(count(info[0], "inputH", false));
    const int w = static_cast<int>(count(info[1], "inputW", false));
    const int clip = static_cast<int>(number(info[2], "clipMode", 0, 2, "0, 1 or 2"));
    const auto levels_v = f64(info[3], "levels", 6, "6·L");
    const auto shapes_v = f64(info[4], "shapes", 2, "2·S");
    if (h < 1 || w < 1) range_error(info.Env(), "integer >= 1", "inputH/inputW", info[h < 1 ? 0 : 1]);
    std::vector<PriorLevel> levels;
    double total = 0;
    for (size_t i = 0; i < levels_v.length; i += 6) {
      const double* l = levels_v.data + i;
      for (int k = 0; k < 6; ++k)
        if (!std::isfinite(l[k]) || ((k < 2 || k == 5) && (l[k] < 0 || l[k] != std::floor(l[k]) || l[k] > 1e6)))
          range_error(info.Env(), "finite level rows (rows, cols, stepY, stepX, offset, numShapes)", "levels", info[3]);
      levels.push_back({static_cast<int>(l[0]), static_cast<int>(l[1]), l[2], l[3], l[4], static_cast<int>(l[5])});
      total += l[0] * l[1] * l[5];
    }
    if (total * 4 >= static_cast<double>(kMaxElements)) range_error(info.Env(), "fewer than 2^29 boxes", "levels", info[3]);
    auto out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(total) * 4);
    default_boxes(h, w, levels, shapes_v.data, shapes_v.length / 2, static_cast<PriorClip>(clip), out.Data());
    return out;
  });
}

CoderParams coder_params(const Napi::CallbackInfo& info, size_t wi, size_t oi) {
  CoderParams p;
  const auto w = f32(info[wi], "weights");
  if (w.length != 4) type_error(info.Env(), "Float32Array of length 4", "weights", info[wi]);
  for (size_t i = 0; i < 4; ++i)
    if (!(w.data[i] > 0.f && w.data[i] < 3.4e38f)) range_error(info.Env(), "positive finite weights", "weights", info[wi]);
  p.wx = w.data[0], p.wy = w.data[1], p.ww = w.data[2], p.wh = w.data[3];
  p.order_yx = boolean(info[oi], "orderYx");
  return p;
}

Napi::Value EncodeBoxes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto boxes = f32(info[0], "boxes", 4, "4·N");
    const auto anchors = f32(info[1], "anchors", 4, "4·N");
    if (anchors.length != boxes.length) type_error(info.Env(), "Float32Array of length " + std::to_string(boxes.length), "anchors", info[1]);
    const bool cxcywh = boolean(info[2], "anchorCxcywh");
    const CoderParams p = coder_params(info, 3, 4);
    auto out = Napi::Float32Array::New(info.Env(), boxes.length);
    encode_boxes(boxes.data, anchors.data, cxcywh, boxes.length / 4, p, out.Data());
    return out;
  });
}

Napi::Value DecodeBoxes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto deltas = f32(info[0], "deltas", 4, "4·N");
    const auto anchors = f32(info[1], "anchors", 4, "4·N");
    if (anchors.length != deltas.length) type_error(info.Env(), "Float32Array of length " + std::to_string(deltas.length), "anchors", info[1]);
    const bool cxcywh = boolean(info[2], "anchorCxcywh");
    CoderParams p = coder_params(info, 3, 4);
    p.bbox_clip = static_cast<float>(number(info[5], "bboxClip", -1e30, 1e30, "finite number"));
    auto out = Napi::Float32Array::New(info.Env(), deltas.length);
    std::vector<float> scratch(cxcywh ? 0 : deltas.length);
    decode_boxes(deltas.data, anchors.data, cxcywh, deltas.length / 4, p, out.Data(), scratch.data());
    return out;
  });
}

Napi::Value BoxIou(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto a = f32(info[0], "a", 4, "4·N");
    const auto b = f32(info[1], "b", 4, "4·M");
    const size_t n = a.length / 4, m = b.length / 4;
    if (m && n > (kMaxElements - 1) / m) range_error(info.Env(), "N·M < 2^31", "a", info[0]);
    auto out = Napi::Float32Array::New(info.Env(), n * m);
    box_iou(a.data, n, b.data, m, out.Data());
    return out;
  });
}

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
    if (ids.length != a.scores.length) type_error(info.Env(), "Int32Array of length N = " + std::to_string(a.scores.length), "classIds", info[2]);
    const int64_t max_out = count(info[5], "maxOutput", true);
    return new_i32(info.Env(), batched_nms(a.boxes.data, a.scores.data, ids.data, a.scores.length, a.iou, a.score_thr, max_out));
  });
}

Napi::Value SoftNms(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto boxes = f32(info[0], "boxes", 4, "4·N");
    const auto scores = f32(info[1], "scores");
    if (scores.length != boxes.length / 4) type_error(info.Env(), "Float32Array of length N = " + std::to_string(boxes.length / 4), "scores", info[1]);
    const double sigma = number(info[2], "sigma", 1e-30, 1e30, "positive number");
    const double iou = number(info[3], "iouThreshold", -1, 1, "number in [0, 1] (or -1 to decay all)");
    const double thr = number(info[4], "scoreThreshold", -3.4e38, 3.4e38, "finite number");
    const int64_t max_out = count(info[5], "maxOutput", true);
    std::vector<int32_t> idx;
    std::vector<float> sc;
    soft_nms(boxes.data, scores.data, scores.length, static_cast<float>(sigma), iou, static_cast<float>(thr), max_out, idx, sc);
    auto o = Napi::Object::New(info.Env());
    o.Set("indices", new_i32(info.Env(), idx));
    o.Set("scores", new_f32(info.Env(), sc.data(), sc.size()));
    return o;
  });
}

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
      type_error(env, "Float32Array of length N·numClasses = " + std::to_string(n * static_cast<size_t>(c)), "classLogits", info[0]);
    const auto reg = f32(info[1], "boxRegression");
    if (reg.length != 4 * n) type_error(env, "Float32Array of length 4·N = " + std::to_string(4 * n), "boxRegression", info[1]);
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
    const LossImage img{logits.data, reg.data, anchors.data, cxcywh, n, static_cast<size_t>(c), gt.data, labels.data, m};
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

Napi::Value Postprocess(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    PostprocessJob job;
    job.parse(info);
    job.run();
    return job.to_js(info.Env());
  });
}

Napi::Value PostprocessAsyncGuarded(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return PostprocessAsync(info); });
}

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
      if (a.data[i] < 0 || a.data[i] >= src_n) range_error(v[k].Env(), "indices in [0, " + std::to_string(src_n) + ")", name.c_str(), v[k]);
    idx[k] = a.data;
  }
  const float* w[3];
  static const char* names[] = {"w0", "w1", "pad"};
  for (int k = 0; k < 3; ++k) {
    const std::string name = p + names[k];
    const auto a = f32(v[2 + k], name.c_str());
    if (a.length != out_n) type_error(v[2 + k].Env(), "Float32Array of length " + std::to_string(out_n), name.c_str(), v[2 + k]);
    w[k] = a.data;
  }
  return {idx[0], idx[1], w[0], w[1], w[2]};
}

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
    const int w = static_cast<int>(count(info[1], "width", false)), h = static_cast<int>(count(info[2], "height", false));
    const int ch = static_cast<int>(count(info[3], "channels", false));
    if (ch != 3 && ch != 4) range_error(env, "3 or 4", "channels", info[3]);
    if (w < 1 || h < 1) range_error(env, "a positive width and height", w < 1 ? "width" : "height", info[w < 1 ? 1 : 2]);
    if (src.length < static_cast<size_t>(w) * h * ch)
      type_error(env, "pixel data of length ≥ " + std::to_string(static_cast<size_t>(w) * h * ch), "src", info[0]);
    const auto out = typed<float, napi_float32_array>(info[4], "out", 1, "Float32Array", "");
    PixelLayout l{};
    l.out_w = static_cast<int>(count(lw, "layout.width", false));
    l.out_h = static_cast<int>(count(lh, "layout.height", false));
    l.offset = static_cast<size_t>(count(loff, "layout.offset", false));
    const bool nchw = boolean(lnchw, "layout.nchw"), bgr = boolean(lbgr, "layout.bgr");
    const size_t plane = static_cast<size_t>(l.out_w) * l.out_h;
    if (out.length < l.offset + 3 * plane) type_error(env, "Float32Array of length ≥ offset + 3·w·h = " + std::to_string(l.offset + 3 * plane), "out", info[4]);
    l.c_stride = nchw ? plane : 1, l.p_stride = nchw ? 1 : 3;
    l.dst_r = bgr ? 2 : 0, l.dst_g = 1, l.dst_b = bgr ? 0 : 2;
    const auto sc = f32(lscale, "layout.scale"), bi = f32(lbias, "layout.bias");
    if (sc.length != 3 || bi.length != 3) type_error(env, "Float32Array of length 3", sc.length != 3 ? "layout.scale" : "layout.bias", sc.length != 3 ? lscale : lbias);
    for (int k = 0; k < 3; ++k) l.scale[k] = sc.data[k], l.bias[k] = bi.data[k];
    if (!resize) {
      if (l.out_w != w || l.out_h != h) range_error(env, "taps when the output size differs from the image", "taps", info[6]);
      pixels_to_tensor(src.data, ch, l, out.data);
      return env.Undefined();
    }
    const AxisTaps tx = taps(tv, "x", static_cast<size_t>(l.out_w), w), ty = taps(tv + 5, "y", static_cast<size_t>(l.out_h), h);
    pixels_resize_to_tensor(src.data, w, ch, tx, ty, pad, l, out.data);
    return env.Undefined();
  });
}

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
  exports.Set("postprocessAsync", Napi::Function::New(env, PostprocessAsyncGuarded, "postprocessAsync"));
  return exports;
}

}  // namespace
}  // namespace ssd::addon

static Napi::Object InitSsdEdge(Napi::Env env, Napi::Object exports) { return ssd::addon::Init(env, exports); }

NODE_API_MODULE(ssd_edge, InitSsdEdge)
