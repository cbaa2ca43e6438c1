#include "postprocess.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "../simd/dispatch.h"
#include "sort.h"

namespace ssd {
namespace {

constexpr size_t kSampleStride =
    7;  // every 7th anchor (coprime with the 4 or 6 boxes per cell) estimates each class's k-th best

// Per-class pre-filter cuts that keep the selection exact: collecting only scores > cut is enough when at
// least k of them exist (then the k best are all above it); a class that ends with fewer is re-collected at
// the threshold. The cut sits at about the ceil(1.5·k/stride)-th best score of a strided sample (found with a
// 256-bucket histogram over the scores' order keys: any cut is correct, a good one is only faster), so roughly
// 1.5·k anchors pass.
void estimate_cuts(const float* scores, size_t n, size_t C, int background, size_t k, float threshold,
                   std::vector<float>& cuts, std::vector<float>& buf) {
  const size_t m = (n + kSampleStride - 1) / kSampleStride;
  buf.resize(m * C);
  for (size_t i = 0, r = 0; i < n; i += kSampleStride, ++r)
    for (size_t c = 0; c < C; ++c) buf[c * m + r] = scores[i * C + c];
  const size_t rank = (3 * k + 2 * kSampleStride - 1) / (2 * kSampleStride);
  for (size_t c = 0; c < C; ++c) {
    if (static_cast<int>(c) == background) continue;
    const float* b = buf.data() + c * m;
    float lo = __builtin_inff(), hi = -__builtin_inff();
    size_t above = 0;
    for (size_t r = 0; r < m; ++r)
      if (b[r] > threshold) lo = std::min(lo, b[r]), hi = std::max(hi, b[r]), ++above;
    if (above <= rank) continue;  // the sample is too thin above the threshold
    const ScoreBuckets bucket_of(lo, hi, 256);
    uint32_t hist[256] = {0};
    for (size_t r = 0; r < m; ++r)
      if (b[r] > threshold) ++hist[bucket_of(b[r])];
    size_t bucket = 0, seen = hist[0];
    while (seen < rank) seen += hist[++bucket];
    cuts[c] = std::max(threshold, bucket_of.below(bucket));
  }
}

// Up to this many detections per image, and while no class has this many candidates, the NMS walks all classes'
// candidates in one merged score order and stops once enough are kept (a linear scan of the kept boxes per
// candidate); otherwise every class is suppressed in full, with the exact grid index for large classes.
constexpr size_t kMergedNmsMax = 16384;

// Per-class greedy NMS visited in the global output order — decreasing score, ties by lower candidate index, the
// order a full per-class NMS followed by the final sort produces — stopping after `limit` kept. A candidate's fate
// depends only on the better candidates of its own class, all visited before it, so the first `limit` kept are
// exactly those of the full computation, while the candidates after them are never looked at.
void merged_nms(PostprocessWorkspace& ws, size_t C, double threshold, size_t limit) {
  const Kernels& k = kernels();
  const size_t total = ws.cand_scores.size();
  BoxSoA& kept = ws.nms.kept;
  if (kept.x1.size() < total)
    for (auto* v : {&kept.x1, &kept.y1, &kept.x2, &kept.y2, &kept.area}) v->resize(total);
  // Class c's candidates are [start[c], end[c]); its kept boxes fill the SoA from start[c] on.
  ws.class_start.assign(C + 1, 0);
  for (size_t c = 0; c < C; ++c) ws.class_start[c + 1] = ws.class_start[c] + ws.topk[c].items().size();
  ws.class_next.assign(ws.class_start.begin(), ws.class_start.end() - 1);
  ws.class_kept.assign(C, 0);
  auto item = [&](size_t i) {
    return (static_cast<uint64_t>(desc_key(ws.cand_scores[i])) << 32) | static_cast<uint32_t>(i);
  };
  std::vector<uint64_t>& heap = ws.merge_heap;
  heap.clear();
  for (size_t c = 0; c < C; ++c)
    if (ws.class_next[c] < ws.class_start[c + 1]) heap.push_back(item(ws.class_next[c]++));
  std::make_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
  while (!heap.empty() && ws.keep.size() < limit) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
    const size_t i = static_cast<uint32_t>(heap.back());
    const size_t c = static_cast<size_t>(ws.cand_labels[i]);
    if (ws.class_next[c] < ws.class_start[c + 1]) {
      heap.back() = item(ws.class_next[c]++);
      std::push_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
    } else {
      heap.pop_back();
    }
    const float* b = &ws.cand_boxes[4 * i];
    if (!finite_box(b)) {  // IoU 0 with everything: kept, suppresses nothing
      ws.keep.push_back(static_cast<int32_t>(i));
      continue;
    }
    const size_t base = ws.class_start[c];
    const KeptBoxes view{&kept.x1[base], &kept.y1[base],   &kept.x2[base],
                         &kept.y2[base], &kept.area[base], ws.class_kept[c]};
    const float area = box_area(b);
    if (k.any_iou_above(b, area, view, threshold)) continue;
    const size_t slot = base + ws.class_kept[c]++;
    kept.x1[slot] = b[0], kept.y1[slot] = b[1], kept.x2[slot] = b[2], kept.y2[slot] = b[3], kept.area[slot] = area;
    ws.keep.push_back(static_cast<int32_t>(i));
  }
}

// The class-agnostic path (PostprocessParams::class_agnostic): S holds the scores [n, C].
void postprocess_class_agnostic(const float* reg, const float* S, const float* anchors, size_t n, size_t C,
                                float image_h, float image_w, const PostprocessParams& p, Detections& out,
                                PostprocessWorkspace& ws) {
  const Kernels& k = kernels();
  // 1. Per anchor its best class and score; candidates packed as desc_key(score) << 32 | anchor.
  std::vector<uint64_t>& cand = ws.merge_heap;
  cand.clear();
  ws.cand_labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const float* row = S + i * C;
    int best = -1;
    for (size_t c = 0; c < C; ++c)
      if (static_cast<int>(c) != p.background && (best < 0 || row[c] > row[best])) best = static_cast<int>(c);
    if (best < 0 || !(row[best] > p.score_thresh)) continue;
    ws.cand_labels[i] = best;
    cand.push_back((static_cast<uint64_t>(desc_key(row[best])) << 32) | static_cast<uint32_t>(i));
  }
  // 2. Decreasing score, ties → lower anchor; the best topk.
  const size_t topk = p.topk < 0 ? cand.size() : std::min(cand.size(), static_cast<size_t>(p.topk));
  std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(topk), cand.end());
  cand.resize(topk);
  // 3. Decode (or copy) the candidates' boxes, clip.
  ws.cand_deltas.resize(4 * topk);
  ws.cand_anchors.resize(4 * topk);
  ws.cand_boxes.resize(4 * topk);
  ws.order.resize(topk);
  for (size_t t = 0; t < topk; ++t) {
    const size_t a = static_cast<uint32_t>(cand[t]);
    std::copy_n(reg + 4 * a, 4, &ws.cand_deltas[4 * t]);
    if (!p.decoded) std::copy_n(anchors + 4 * a, 4, &ws.cand_anchors[4 * t]);
    ws.order[t] = static_cast<int32_t>(t);
  }
  if (p.decoded)
    ws.cand_boxes.swap(ws.cand_deltas);
  else
    k.decode(ws.cand_deltas.data(), ws.cand_anchors.data(), ws.cand_boxes.data(), topk, p.coder);
  if (p.clip)
    for (float& v : ws.cand_boxes) v = !(v > 0.f) && v == v ? 0.f : (v > 1.f ? 1.f : v);
  // 4. One greedy NMS over all candidates (already in output order), the first `detections` kept.
  ws.keep.clear();
  const size_t limit = p.detections < 0 ? topk : std::min(topk, static_cast<size_t>(p.detections));
  greedy_nms(ws.cand_boxes.data(), ws.order.data(), topk, p.nms_thresh, limit, ws.keep, ws.nms);
  const size_t m = ws.keep.size();
  out.boxes.resize(4 * m);
  out.scores.resize(m);
  out.labels.resize(m);
  for (size_t i = 0; i < m; ++i) {
    const size_t j = static_cast<size_t>(ws.keep[i]);
    const float* b = &ws.cand_boxes[4 * j];
    out.boxes[4 * i] = b[0] * image_w;
    out.boxes[4 * i + 1] = b[1] * image_h;
    out.boxes[4 * i + 2] = b[2] * image_w;
    out.boxes[4 * i + 3] = b[3] * image_h;
    out.scores[i] = TopK::score_of(cand[j]);
    out.labels[i] = ws.cand_labels[static_cast<uint32_t>(cand[j])];
  }
}

}  // namespace

void PostprocessWorkspace::trim(size_t max_bytes) {
  size_t bytes = 0;
  auto add = [&](const auto& v) { bytes += v.capacity() * sizeof(v[0]); };
  add(scores), add(cuts), add(sample), add(cand_deltas), add(cand_anchors), add(cand_boxes), add(cand_scores);
  add(cand_labels), add(order), add(keep), add(class_start), add(class_next), add(class_kept), add(merge_heap);
  for (const auto* v : {&nms.kept.x1, &nms.kept.y1, &nms.kept.x2, &nms.kept.y2, &nms.kept.area}) add(*v);
  for (const auto& t : topk) bytes += t.capacity_bytes();
  if (bytes > max_bytes) *this = PostprocessWorkspace{};
}

void postprocess(const float* reg, const float* logits, const float* anchors, size_t n, size_t num_classes,
                 float image_h, float image_w, const PostprocessParams& p, Detections& out, PostprocessWorkspace& ws) {
  const Kernels& k = kernels();
  const size_t C = num_classes;
  const size_t topk = p.topk < 0 ? n : static_cast<size_t>(std::min<int64_t>(p.topk, static_cast<int64_t>(n)));

  // 1. Scores for every anchor and class.
  const float* S = logits;
  if (p.scoring != Scoring::Identity) {
    ws.scores.resize(n * C);
    if (p.scoring == Scoring::Softmax)
      k.softmax_rows(logits, ws.scores.data(), n, C);
    else
      k.sigmoid(logits, ws.scores.data(), n * C);
    S = ws.scores.data();
  }
  if (p.class_agnostic) {
    postprocess_class_agnostic(reg, S, anchors, n, C, image_h, image_w, p, out, ws);
    return;
  }

  // 2. Per class: scores > thresh, the top-k by score (ties → lower anchor). A sampled cut skips most of the
  // losers when k is small next to n; a class that ends with fewer than k is re-collected at the threshold.
  ws.topk.resize(C);
  ws.cuts.assign(C, p.score_thresh);
  if (p.background >= 0 && static_cast<size_t>(p.background) < C) ws.cuts[p.background] = __builtin_inff();
  if (topk * 4 < n) estimate_cuts(S, n, C, p.background, topk, p.score_thresh, ws.cuts, ws.sample);
  for (size_t c = 0; c < C; ++c) ws.topk[c].reset(ws.cuts[c]);
  const float* cuts = ws.cuts.data();
  for (size_t i = 0; i < n; ++i) {
    const float* row = S + i * C;
    for (size_t c0 = 0; c0 < C; c0 += 64) {  // branch-free mask of the passing classes, then visit its bits
      const size_t c1 = std::min(C, c0 + 64);
      uint64_t mask = 0;
      for (size_t c = c0; c < c1; ++c) mask |= static_cast<uint64_t>(row[c] > cuts[c]) << (c - c0);
      for (; mask; mask &= mask - 1) {
        const size_t c = c0 + static_cast<size_t>(__builtin_ctzll(mask));
        ws.topk[c].push_passing(row[c], static_cast<int32_t>(i));
      }
    }
  }
  for (size_t c = 0; c < C; ++c) {
    TopK& t = ws.topk[c];
    if (t.size() < topk && ws.cuts[c] > p.score_thresh && static_cast<int>(c) != p.background) {
      t.reset(p.score_thresh);
      for (size_t i = 0; i < n; ++i) t.push(S[i * C + c], static_cast<int32_t>(i));
    }
  }

  // 3. Gather the candidates class by class (class order, then rank), decode them in one kernel call.
  size_t total = 0;
  for (auto& t : ws.topk) {
    t.select(topk);
    total += t.items().size();
  }
  ws.cand_deltas.resize(4 * total);
  ws.cand_anchors.resize(4 * total);
  ws.cand_boxes.resize(4 * total);
  ws.cand_scores.resize(total);
  ws.cand_labels.resize(total);
  size_t t = 0;
  for (size_t c = 0; c < C; ++c)
    for (const uint64_t key : ws.topk[c].items()) {
      const size_t a = static_cast<size_t>(TopK::index_of(key));
      std::copy_n(reg + 4 * a, 4, &ws.cand_deltas[4 * t]);
      if (!p.decoded) std::copy_n(anchors + 4 * a, 4, &ws.cand_anchors[4 * t]);
      ws.cand_scores[t] = TopK::score_of(key);
      ws.cand_labels[t] = static_cast<int32_t>(c);
      ++t;
    }
  if (p.decoded)
    ws.cand_boxes.swap(ws.cand_deltas);
  else
    k.decode(ws.cand_deltas.data(), ws.cand_anchors.data(), ws.cand_boxes.data(), total, p.coder);
  if (p.clip)
    for (float& v : ws.cand_boxes)
      v = !(v > 0.f) && v == v ? 0.f : (v > 1.f ? 1.f : v);  // NaN kept, −0 → +0 (as Math.max)

  // 4-5. NMS inside each class, best `detections` over all classes (ties → lower candidate index).
  ws.keep.clear();
  size_t largest_class = 0;
  for (const auto& t : ws.topk) largest_class = std::max(largest_class, t.items().size());
  if (p.detections >= 0 && static_cast<size_t>(p.detections) <= kMergedNmsMax && largest_class < kMergedNmsMax)
    merged_nms(ws, C, p.nms_thresh, static_cast<size_t>(p.detections));
  else {
    ws.order.resize(total);
    for (size_t i = 0; i < total; ++i) ws.order[i] = static_cast<int32_t>(i);
    for (size_t s = 0, c = 0; c < C; ++c) {
      const size_t cnt = ws.topk[c].items().size();
      greedy_nms(ws.cand_boxes.data(), ws.order.data() + s, cnt, p.nms_thresh, cnt, ws.keep, ws.nms);
      s += cnt;
    }
    sort_by_score_desc(ws.cand_scores.data(), ws.keep);
  }

  // 6. Scaled to the image.
  const size_t m = p.detections < 0 ? ws.keep.size() : std::min(ws.keep.size(), static_cast<size_t>(p.detections));
  out.boxes.resize(4 * m);
  out.scores.resize(m);
  out.labels.resize(m);
  for (size_t i = 0; i < m; ++i) {
    const size_t j = static_cast<size_t>(ws.keep[i]);
    const float* b = &ws.cand_boxes[4 * j];
    out.boxes[4 * i] = b[0] * image_w;
    out.boxes[4 * i + 1] = b[1] * image_h;
    out.boxes[4 * i + 2] = b[2] * image_w;
    out.boxes[4 * i + 3] = b[3] * image_h;
    out.scores[i] = ws.cand_scores[j];
    out.labels[i] = ws.cand_labels[j];
  }
}

}  // namespace ssd
