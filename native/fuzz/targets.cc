#include "targets.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../core/augment.h"
#include "../core/box_coder.h"
#include "../core/default_boxes.h"
#include "../core/iou.h"
#include "../core/loss.h"
#include "../core/matcher.h"
#include "../core/nms.h"
#include "../core/postprocess.h"
#include "../core/preprocess.h"
#include "../core/sort.h"
#include "../simd/dispatch.h"
#include "../simd/kernels.h"

namespace ssd::fuzz {
namespace {

// Reads values from the input; past the end everything reads as zero.
class Reader {
 public:
  Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint8_t byte() { return p_ < n_ ? d_[p_++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | byte();
    return v;
  }
  size_t below(size_t n) { return n ? u32() % n : 0; }
  bool flag() { return byte() & 1; }
  // Mostly "interesting" floats: small integers, specials, extremes, else raw bits.
  float f32() {
    switch (byte() % 8) {
      case 0:
        return static_cast<float>(static_cast<int8_t>(byte()));
      case 1: {
        static const float special[] = {0.f,      -0.f,   NAN,    INFINITY, -INFINITY, 3.4e38f,
                                        -3.4e38f, 1e-45f, 1e-38f, 1e30f,    0.5f,      1.f};
        return special[byte() % 12];
      }
      case 2:
        return static_cast<float>(byte()) / 255.f;
      case 3:
        return static_cast<float>(static_cast<int16_t>(u32() & 0xffff)) / 64.f;
      default: {
        const uint32_t bits = u32();
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
      }
    }
  }
  double f64() { return f32(); }
  std::vector<float> floats(size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = f32();
    return v;
  }
  // Boxes: half of the time near-valid xyxy (x2 ≥ x1) so overlaps happen, else raw values.
  std::vector<float> boxes(size_t n) {
    std::vector<float> v(4 * n);
    for (size_t i = 0; i < n; ++i) {
      float* b = &v[4 * i];
      if (flag()) {
        const float s = flag() ? 1.f : std::ldexp(1.f, static_cast<int>(byte() % 200) - 100);
        // Sometimes another scale for the height: long, thin boxes (aspect ratios up to 2^±100).
        const float sy = flag() ? s : std::ldexp(1.f, static_cast<int>(byte() % 200) - 100);
        b[0] = static_cast<float>(byte()) * s, b[1] = static_cast<float>(byte()) * sy;
        b[2] = b[0] + static_cast<float>(byte()) * s, b[3] = b[1] + static_cast<float>(byte()) * sy;
      } else {
        for (int k = 0; k < 4; ++k) b[k] = f32();
      }
    }
    return v;
  }
  double threshold() { return byte() / 255.0; }
  // An IoU threshold for the NMS entry points: k/255, special values (0, tiny, near the old grid's cut-overs, 1, NaN)
  // or any float.
  double nms_threshold() {
    static const double special[] = {0.0, -0.0, 1e-300, 1e-40, 1e-7, 0.01, 0.03, 0.12, 0.13, 1.0, 1.5, NAN};
    switch (byte() % 4) {
      case 0:
        return special[byte() % 12];
      case 1:
        return f32();
      default:
        return byte() / 255.0;
    }
  }

 private:
  const uint8_t* d_;
  size_t n_, p_ = 0;
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

void pick_simd(Reader& r) {
  const auto levels = supported_levels();
  set_level(levels[r.below(levels.size())]);
}

CoderParams coder(Reader& r) {
  CoderParams p;
  if (r.flag()) p.wx = r.f32(), p.wy = r.f32(), p.ww = r.f32(), p.wh = r.f32();
  p.order_yx = r.flag();
  if (r.flag()) p.bbox_clip = r.f32();
  return p;
}

}  // namespace

int default_boxes(const uint8_t* data, size_t size) {
  Reader r(data, size);
  std::vector<DefaultBoxLevel> levels(1 + r.below(4));
  size_t shapes_used = 0;
  for (auto& l : levels) {
    l.rows = static_cast<int>(r.below(20)), l.cols = static_cast<int>(r.below(20));
    l.step_y = r.f64(), l.step_x = r.f64(), l.offset = r.f64();
    l.num_shapes = static_cast<int>(1 + r.below(6));
    shapes_used += static_cast<size_t>(l.num_shapes);
  }
  const size_t num_shapes = r.flag() ? shapes_used : r.below(shapes_used + 2);
  std::vector<double> shapes(2 * num_shapes);
  for (auto& s : shapes) s = r.f64();
  const int h = static_cast<int>(1 + r.below(1000)), w = static_cast<int>(1 + r.below(1000));
  std::vector<float> out(4 * default_box_count(levels));
  try {
    ssd::default_boxes(h, w, levels, shapes.data(), num_shapes, static_cast<DefaultBoxClip>(r.below(3)), out.data());
  } catch (const InvalidArgument&) {
    check(num_shapes < shapes_used, "default_boxes rejected enough shapes");
  }
  return 0;
}

int box_coder(const uint8_t* data, size_t size) {
  Reader r(data, size);
  pick_simd(r);
  const size_t n = r.below(64);
  const CoderParams p = coder(r);
  const bool cxcywh = r.flag();
  const auto anchors = r.boxes(n), boxes = r.boxes(n), deltas = r.floats(4 * n);
  std::vector<float> out(4 * n), scratch(4 * n), conv(4 * n);
  encode_boxes(boxes.data(), anchors.data(), cxcywh, n, p, out.data());
  decode_boxes(deltas.data(), anchors.data(), cxcywh, n, p, out.data(), scratch.data());
  xyxy_to_cxcywh(boxes.data(), conv.data(), n);
  cxcywh_to_xyxy(conv.data(), out.data(), n);
  return 0;
}

int iou(const uint8_t* data, size_t size) {
  Reader r(data, size);
  pick_simd(r);
  const size_t n = r.below(40), m = r.below(40);
  const auto a = r.boxes(n), b = r.boxes(m);
  std::vector<float> out(n * m);
  box_iou(a.data(), n, b.data(), m, out.data());
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < m; ++j) {
      const float v = out[i * m + j];
      check(v >= 0.f && v <= 1.f + 1e-6f, "IoU in [0, 1], never NaN");
      check(v == iou_scalar(&a[4 * i], box_area(&a[4 * i]), &b[4 * j], box_area(&b[4 * j])), "SIMD IoU = scalar IoU");
    }
  return 0;
}

// Runs `run` with the default index cut-overs and with the index (BoxTree) forced on from `greedy_min` / `soft_min`
// candidates; both runs must agree.
template <typename R>
void both_strategies(size_t greedy_min, size_t soft_min, R run) {
  const auto a = run();
  set_grid_min_boxes_for_testing(greedy_min, soft_min);
  const auto b = run();
  set_grid_min_boxes_for_testing(0, 0);
  check(a == b, "grid path = scan path");
}

int nms(const uint8_t* data, size_t size) {
  Reader r(data, size);
  pick_simd(r);
  const size_t n = r.below(300);
  const double thr = r.nms_threshold();
  const auto boxes = r.boxes(n), scores = r.floats(n);
  std::vector<int32_t> order;
  sorted_indices_above(scores.data(), n, -INFINITY, order);
  // The tree index (used from 16384 candidates on, for thresholds ≥ 0) must decide exactly as the linear scan.
  if (thr >= 0) {
    std::vector<int32_t> a, b;
    NmsWorkspace ws;
    greedy_nms_linear(boxes.data(), order.data(), order.size(), thr, order.size(), a, ws);
    greedy_nms_grid(boxes.data(), order.data(), order.size(), thr, order.size(), b);
    check(a == b, "grid NMS = linear NMS");
  }
  const float score_thr = r.f32();
  const int64_t top_k = static_cast<int64_t>(r.below(400)) - 1, max_out = static_cast<int64_t>(r.below(400)) - 1;
  both_strategies(1, 1, [&] {
    const auto k = ssd::nms(boxes.data(), scores.data(), n, thr, score_thr, top_k, max_out);
    for (int32_t i : k) check(i >= 0 && static_cast<size_t>(i) < n, "nms index in range");
    return k;
  });
  return 0;
}

int batched_nms(const uint8_t* data, size_t size) {
  Reader r(data, size);
  pick_simd(r);
  const size_t n = r.below(300);
  const double thr = r.nms_threshold();
  const auto boxes = r.boxes(n), scores = r.floats(n);
  std::vector<int32_t> cls(n);
  for (auto& c : cls) c = r.flag() ? static_cast<int32_t>(r.below(4)) : static_cast<int32_t>(r.u32());
  const float score_thr = r.f32();
  const int64_t max_out = static_cast<int64_t>(r.below(400)) - 1;
  // Per class through the tree (forced from one candidate on) as through the linear scan.
  both_strategies(1, 1, [&] {
    const auto k = ssd::batched_nms(boxes.data(), scores.data(), cls.data(), n, thr, score_thr, max_out);
    for (size_t i = 1; i < k.size(); ++i) check(!(scores[k[i]] > scores[k[i - 1]]), "batched_nms sorted by score");
    return k;
  });
  return 0;
}

int soft_nms(const uint8_t* data, size_t size) {
  Reader r(data, size);
  const size_t n = r.below(r.flag() ? 200 : 1200);
  const float sigma = r.flag() ? 0.5f : std::fabs(r.f32());
  const double iou_thr = r.flag() ? -1.0 : r.nms_threshold();
  const float score_thr = r.f32();
  const int64_t max_out = static_cast<int64_t>(r.below(300)) - 1;
  const auto boxes = r.boxes(n), scores = r.floats(n);
  if (!(sigma > 0) || !std::isfinite(sigma) || !std::isfinite(score_thr)) return 0;  // the addon rejects these
  // The tree strategy (soft_nms uses it above 512 candidates) against the scan: same picks, same score bits.
  std::vector<int32_t> idx, idx_grid;
  std::vector<float> out, out_grid;
  ssd::soft_nms_with(false, boxes.data(), scores.data(), n, sigma, iou_thr, score_thr, max_out, idx, out);
  ssd::soft_nms_with(true, boxes.data(), scores.data(), n, sigma, iou_thr, score_thr, max_out, idx_grid, out_grid);
  check(idx == idx_grid, "soft-NMS grid picks = scan picks");
  check(out.size() == out_grid.size() && (out.empty() || !std::memcmp(out.data(), out_grid.data(), 4 * out.size())),
        "soft-NMS grid scores = scan scores (bits)");
  std::vector<uint8_t> seen(n, 0);
  for (int32_t i : idx) {
    check(i >= 0 && static_cast<size_t>(i) < n && !seen[i], "soft_nms picks each box once");
    seen[i] = 1;
  }
  return 0;
}

int postprocess(const uint8_t* data, size_t size) {
  Reader r(data, size);
  pick_simd(r);
  const size_t n = r.below(200), c = 1 + r.below(8);
  PostprocessParams p;
  p.scoring = static_cast<Scoring>(r.below(3));
  p.decoded = r.flag();
  p.background = static_cast<int>(r.below(c + 1)) - 1;
  p.score_thresh = static_cast<float>(r.threshold());
  p.nms_thresh = r.flag() ? r.threshold() : r.nms_threshold();
  p.topk = static_cast<int64_t>(r.below(300)) - 1;
  p.detections = static_cast<int64_t>(r.below(300)) - 1;
  p.clip = r.flag();
  p.coder = coder(r);
  const float ih = r.f32(), iw = r.f32();
  const auto reg = p.decoded ? r.boxes(n) : r.floats(4 * n);
  const auto logits = r.floats(n * c), anchors = r.boxes(n);
  // With the NMS tree forced from one candidate on, the same detections bit for bit.
  both_strategies(1, 1, [&] {
    Detections out;
    PostprocessWorkspace ws;
    ssd::postprocess(reg.data(), logits.data(), anchors.data(), n, c, ih, iw, p, out, ws);
    check(out.boxes.size() == 4 * out.scores.size() && out.labels.size() == out.scores.size(),
          "postprocess output sizes");
    for (int32_t l : out.labels) check(l >= 0 && static_cast<size_t>(l) < c && l != p.background, "postprocess labels");
    std::vector<uint32_t> bits(out.boxes.size() + out.scores.size());
    if (!out.boxes.empty()) std::memcpy(bits.data(), out.boxes.data(), 4 * out.boxes.size());
    if (!out.scores.empty()) std::memcpy(bits.data() + out.boxes.size(), out.scores.data(), 4 * out.scores.size());
    bits.insert(bits.end(), out.labels.begin(), out.labels.end());
    return bits;
  });
  return 0;
}

int matcher(const uint8_t* data, size_t size) {
  Reader r(data, size);
  const size_t m = r.below(20), n = r.below(200);
  const auto gt = r.boxes(m), anchors = r.boxes(n);
  std::vector<int32_t> out(n);
  match_anchors(gt.data(), m, anchors.data(), n, r.flag(), static_cast<float>(r.threshold()), r.flag(), out.data());
  for (int32_t v : out) check(v == kBelowThreshold || (v >= 0 && static_cast<size_t>(v) < m), "match index in range");
  return 0;
}

int loss(const uint8_t* data, size_t size) {
  Reader r(data, size);
  pick_simd(r);
  const size_t n = r.below(150), c = 1 + r.below(6), m = r.below(10);
  const auto logits = r.floats(n * c), reg = r.floats(4 * n), anchors = r.boxes(n), gt = r.boxes(m);
  std::vector<int32_t> labels(m);
  for (auto& l : labels) l = static_cast<int32_t>(r.below(c));
  LossParams p;
  p.iou_threshold = static_cast<float>(r.threshold());
  p.neg_pos_ratio = r.flag() ? 3.0 : std::fabs(r.f64());
  p.coder = coder(r);
  if (!std::isfinite(p.neg_pos_ratio)) return 0;  // the addon takes a finite ratio
  const LossImage img{logits.data(), reg.data(), anchors.data(), r.flag(), n, c, gt.data(), labels.data(), m};
  const LossParts parts = ssd_loss_parts(img, p);
  check(parts.matched.size() == n && parts.cls_loss.size() == n, "loss part sizes");
  std::vector<uint8_t> pos(n);
  for (auto& v : pos) v = r.flag();
  const auto cl = r.floats(n);
  const auto hn = hard_negatives(cl.data(), pos.data(), n, p.neg_pos_ratio);
  for (size_t i = 0; i < hn.size(); ++i)
    check(hn[i] >= 0 && static_cast<size_t>(hn[i]) < n && !pos[hn[i]], "hard negatives are background");
  return 0;
}

int preprocess(const uint8_t* data, size_t size) {
  Reader r(data, size);
  const int w = static_cast<int>(1 + r.below(24)), h = static_cast<int>(1 + r.below(24)), ch = r.flag() ? 4 : 3;
  const bool resize = r.flag();
  TensorLayout l{};
  l.out_w = resize ? static_cast<int>(1 + r.below(24)) : w, l.out_h = resize ? static_cast<int>(1 + r.below(24)) : h;
  l.offset = r.below(8);
  const bool nchw = r.flag(), bgr = r.flag();
  const size_t plane = static_cast<size_t>(l.out_w) * l.out_h;
  l.c_stride = nchw ? plane : 1, l.p_stride = nchw ? 1 : 3;
  l.dst_r = bgr ? 2 : 0, l.dst_g = 1, l.dst_b = bgr ? 0 : 2;
  for (int k = 0; k < 3; ++k) l.scale[k] = r.f32(), l.bias[k] = r.f32();
  std::vector<uint8_t> src(static_cast<size_t>(w) * h * ch);
  for (auto& v : src) v = r.byte();
  std::vector<float> out(l.offset + 3 * plane);
  if (!resize) {
    preprocess_same_size(src.data(), ch, l, out.data());
    return 0;
  }
  // Tap tables with in-range indices (the addon rejects others) and arbitrary weights.
  auto axis = [&](int out_n, int src_n, std::vector<int32_t>& i0, std::vector<int32_t>& i1, std::vector<float>& w0,
                  std::vector<float>& w1, std::vector<float>& pad) {
    for (int d = 0; d < out_n; ++d) {
      i0.push_back(static_cast<int32_t>(r.below(src_n))), i1.push_back(static_cast<int32_t>(r.below(src_n)));
      w0.push_back(r.f32()), w1.push_back(r.f32()), pad.push_back(r.f32());
    }
    return AxisTaps{i0.data(), i1.data(), w0.data(), w1.data(), pad.data()};
  };
  std::vector<int32_t> xi0, xi1, yi0, yi1;
  std::vector<float> xw0, xw1, xp, yw0, yw1, yp;
  const AxisTaps tx = axis(l.out_w, w, xi0, xi1, xw0, xw1, xp), ty = axis(l.out_h, h, yi0, yi1, yw0, yw1, yp);
  preprocess_resize(src.data(), w, ch, tx, ty, r.f32(), l, out.data());
  return 0;
}

// Augmentation pixels: a plan vector read as the addon reads it (mostly plausible values, sometimes anything: the
// validation must reject what the core cannot take), applied to a small image; the identity plan at the image's own
// size must give the image back.
int augment(const uint8_t* data, size_t size) {
  Reader r(data, size);
  const int w = static_cast<int>(1 + r.below(24)), h = static_cast<int>(1 + r.below(24));
  const int ow = static_cast<int>(1 + r.below(24)), oh = static_cast<int>(1 + r.below(24));
  std::vector<uint8_t> src(static_cast<size_t>(w) * h * 3);
  for (auto& v : src) v = r.byte();
  const bool identity = r.byte() % 8 == 0;
  std::vector<uint8_t> out(identity ? src.size() : static_cast<size_t>(ow) * oh * 3);
  double v[kAugmentParamCount] = {
      0, 1, 1, 1, 0, 0, 1, 2, 0, 0, 0, 0, static_cast<double>(w), static_cast<double>(h), 0, 123, 117, 104};
  if (!identity) {
    static const double lo[kAugmentParamCount] = {-40, 0, 0, 0, -40, 0, 0, 0, -40, -40, -40, -40, 1, 1, 0, 0, 0, 0};
    static const double span[kAugmentParamCount] = {80, 3, 2, 3, 80, 3, 3, 3, 80, 80, 80, 80, 48, 48, 2, 255, 255, 255};
    for (size_t i = 0; i < kAugmentParamCount; ++i) {
      switch (r.byte() % 8) {
        case 0:
          v[i] = r.f64();
          break;  // anything: NaN, ±Inf, huge, fractional
        case 1:
          v[i] = (r.flag() ? 1 : -1) * 1073741824.0;
          break;  // the position / size limits
        default: {
          const double x = lo[i] + span[i] * (r.byte() / 255.0);
          v[i] = (i == 0 || i == 1 || i == 3 || i == 4 || i >= 15) ? x : std::floor(x);
        }
      }
    }
  }
  AugmentParams p;
  try {
    p = params_from_vector(v);
  } catch (const InvalidArgument&) {
    check(!identity, "the identity plan is valid");
    return 0;
  }
  pick_simd(r);
  augment_pixels(src.data(), w, h, p, out.data(), identity ? w : ow, identity ? h : oh);
  if (identity) check(std::memcmp(src.data(), out.data(), src.size()) == 0, "identity plan returns the image");
  return 0;
}

const NamedTarget kTargets[] = {
    {"default_boxes", default_boxes},
    {"box_coder", box_coder},
    {"iou", iou},
    {"nms", nms},
    {"batched_nms", batched_nms},
    {"soft_nms", soft_nms},
    {"postprocess", postprocess},
    {"matcher", matcher},
    {"loss", loss},
    {"preprocess", preprocess},
    {"augment", augment},
};
const size_t kNumTargets = sizeof(kTargets) / sizeof(kTargets[0]);

}  // namespace ssd::fuzz
