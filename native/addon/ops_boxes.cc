// N-API wrappers for box ops: defaultBoxes, encodeBoxes/decodeBoxes, boxIou.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../core/box_coder.h"
#include "../core/default_boxes.h"
#include "../core/iou.h"
#include "convert.h"
#include "ops.h"

namespace ssd::addon {

CoderParams coder_params(const Napi::CallbackInfo& info, size_t wi, size_t oi) {
  CoderParams p;
  const auto w = f32(info[wi], "weights");
  if (w.length != 4) type_error(info.Env(), "Float32Array of length 4", "weights", info[wi]);
  for (size_t i = 0; i < 4; ++i)
    if (!(w.data[i] > 0.f && w.data[i] < 3.4e38f))
      range_error(info.Env(), "positive finite weights", "weights", info[wi]);
  p.wx = w.data[0], p.wy = w.data[1], p.ww = w.data[2], p.wh = w.data[3];
  p.order_yx = boolean(info[oi], "orderYx");
  return p;
}

Napi::Value DefaultBoxes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const int h = static_cast<int>(count(info[0], "inputH", false));
    const int w = static_cast<int>(count(info[1], "inputW", false));
    const int clip = static_cast<int>(number(info[2], "clipMode", 0, 2, "0, 1 or 2"));
    const auto levels_v = f64(info[3], "levels", 6, "6·L");
    const auto shapes_v = f64(info[4], "shapes", 2, "2·S");
    if (h < 1 || w < 1) range_error(info.Env(), "integer >= 1", "inputH/inputW", info[h < 1 ? 0 : 1]);
    std::vector<DefaultBoxLevel> levels;
    double total = 0;
    for (size_t i = 0; i < levels_v.length; i += 6) {
      const double* l = levels_v.data + i;
      for (int k = 0; k < 6; ++k)
        if (!std::isfinite(l[k]) || ((k < 2 || k == 5) && (l[k] < 0 || l[k] != std::floor(l[k]) || l[k] > 1e6)))
          range_error(info.Env(), "finite level rows (rows, cols, stepY, stepX, offset, numShapes)", "levels", info[3]);
      levels.push_back({static_cast<int>(l[0]), static_cast<int>(l[1]), l[2], l[3], l[4], static_cast<int>(l[5])});
      total += l[0] * l[1] * l[5];
    }
    if (total * 4 >= static_cast<double>(kMaxElements))
      range_error(info.Env(), "fewer than 2^29 boxes", "levels", info[3]);
    auto out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(total) * 4);
    default_boxes(h, w, levels, shapes_v.data, shapes_v.length / 2, static_cast<DefaultBoxClip>(clip), out.Data());
    return out;
  });
}

Napi::Value EncodeBoxes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto boxes = f32(info[0], "boxes", 4, "4·N");
    const auto anchors = f32(info[1], "anchors", 4, "4·N");
    if (anchors.length != boxes.length)
      type_error(info.Env(), "Float32Array of length " + std::to_string(boxes.length), "anchors", info[1]);
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
    if (anchors.length != deltas.length)
      type_error(info.Env(), "Float32Array of length " + std::to_string(deltas.length), "anchors", info[1]);
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

}  // namespace ssd::addon
