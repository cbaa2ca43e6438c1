#include "nms.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "../simd/dispatch.h"
#include "grid.h"
#include "sort.h"

namespace ssd {
namespace {

size_t limit(int64_t v, size_t n) { return v < 0 ? n : std::min(static_cast<size_t>(v), n); }

// From this many candidates on, NMS indexes the kept boxes in a BoxTree, so inputs where most boxes survive
// (e.g. 10^6 small disjoint boxes) stay near-linear instead of quadratic, whatever their sizes and spread.
constexpr size_t kGridMinBoxes = 16384;
// Soft-NMS scans the candidates for each pick up to this many (cheaper than building and querying the tree).
constexpr size_t kSoftNmsScanMax = 512;
// The values in use (set_grid_min_boxes_for_testing).
std::atomic<size_t> grid_min_boxes{kGridMinBoxes}, soft_grid_min_boxes{kSoftNmsScanMax + 1};

}  // namespace

// Exact: the tree reports every kept box whose IoU with the candidate may be > threshold (>= 0).
void greedy_nms_grid(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                     std::vector<int32_t>& keep) {
  BoxTree tree(boxes, order, n, threshold);
  constexpr int B = BoxTree::kBatch;
  const float* box[B];
  float area[B];
  bool hit[B];
  int32_t fresh[B];  // candidates kept in this batch and indexed (the others have IoU 0 with every box)
  size_t kept = 0;
  // In batches of B consecutive candidates: each candidate's search covers the boxes kept before the batch (the tree
  // is not changed during the searches), then, in order, the boxes kept earlier in the batch are checked directly.
  for (size_t i = 0; i < n && kept < max_out; i += B) {
    const int m = static_cast<int>(std::min<size_t>(B, n - i));
    for (size_t p = i + B; p < std::min(n, i + 2 * B); ++p) tree.prefetch(p);  // the next batch's leaves
    for (size_t p = i + 2 * B; p < std::min(n, i + 3 * B); ++p)
      prefetch_hint(boxes + 4 * static_cast<size_t>(order[p]));  // scattered in memory
    for (int c = 0; c < m; ++c) {
      box[c] = boxes + 4 * static_cast<size_t>(order[i + static_cast<size_t>(c)]);
      area[c] = box_area(box[c]);
    }
    tree.any_batch(i, m, box, hit, [&](int c, int32_t, const float* k, float area_k) {
      return static_cast<double>(iou_scalar(k, area_k, box[c], area[c])) > threshold;
    });
    int nf = 0;
    for (int c = 0; c < m && kept < max_out; ++c) {
      const size_t p = i + static_cast<size_t>(c);
      if (!finite_box(box[c])) {
        keep.push_back(order[p]), ++kept;
        continue;
      }
      if (hit[c]) continue;
      bool suppressed = false;
      for (int f = 0; f < nf && !suppressed; ++f)
        suppressed = static_cast<double>(iou_scalar(box[fresh[f]], area[fresh[f]], box[c], area[c])) > threshold;
      if (suppressed) continue;
      keep.push_back(order[p]), ++kept;
      if (tree.indexed(p)) tree.insert(p), fresh[nf++] = c;
    }
  }
}

void greedy_nms(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                std::vector<int32_t>& keep, NmsWorkspace& ws) {
  if (n >= grid_min_boxes.load(std::memory_order_relaxed) && threshold >= 0)
    return greedy_nms_grid(boxes, order, n, threshold, max_out, keep);
  greedy_nms_linear(boxes, order, n, threshold, max_out, keep, ws);
}

void greedy_nms_linear(const float* boxes, const int32_t* order, size_t n, double threshold, size_t max_out,
                       std::vector<int32_t>& keep, NmsWorkspace& ws) {
  BoxSoA& k = ws.kept;
  if (k.x1.size() < n)
    for (auto* v : {&k.x1, &k.y1, &k.x2, &k.y2, &k.area}) v->resize(n);
  KeptBoxes view{k.x1.data(), k.y1.data(), k.x2.data(), k.y2.data(), k.area.data(), 0};
  const Kernels& kern = kernels();
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < max_out; ++i) {
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    if (!finite_box(b)) {
      keep.push_back(order[i]), ++kept;
      continue;
    }
    const float area = box_area(b);
    if (kern.any_iou_above(b, area, view, threshold)) continue;
    const size_t c = view.count++;
    k.x1[c] = b[0], k.y1[c] = b[1], k.x2[c] = b[2], k.y2[c] = b[3], k.area[c] = area;
    keep.push_back(order[i]), ++kept;
  }
}

std::vector<int32_t> nms(const float* boxes, const float* scores, size_t n, double iou_threshold, float score_threshold,
                         int64_t top_k, int64_t max_out) {
  std::vector<int32_t> order;
  sorted_indices_above(scores, n, score_threshold, order);
  order.resize(limit(top_k, order.size()));
  std::vector<int32_t> keep;
  NmsWorkspace ws;
  greedy_nms(boxes, order.data(), order.size(), iou_threshold, limit(max_out, order.size()), keep, ws);
  return keep;
}

std::vector<int32_t> batched_nms(const float* boxes, const float* scores, const int32_t* class_ids, size_t n,
                                 double iou_threshold, float score_threshold, int64_t max_out) {
  std::vector<int32_t> order;
  sorted_indices_above(scores, n, score_threshold, order);
  // Group by class keeping the score order inside each class.
  std::stable_sort(order.begin(), order.end(),
                   [class_ids](int32_t a, int32_t b) { return class_ids[a] < class_ids[b]; });
  std::vector<int32_t> keep;
  NmsWorkspace ws;
  for (size_t s = 0; s < order.size();) {
    size_t e = s + 1;
    while (e < order.size() && class_ids[order[e]] == class_ids[order[s]]) ++e;
    greedy_nms(boxes, order.data() + s, e - s, iou_threshold, e - s, keep, ws);
    s = e;
  }
  sort_by_score_desc(scores, keep);
  keep.resize(limit(max_out, keep.size()));
  return keep;
}

namespace {

// Binary min-heap of (desc_key(score) << 32 | index) items, at most one per index, with each index's position.
// Scores mostly decay (a positive score times a factor in (0, 1]), which makes an item's key larger: such items are
// left in place with their old, smaller key and corrected only when they reach the top (`replace_top`), so a decay
// costs no heap work; the top is the true best once its stored key is current, because every stored key is ≤ its
// item's current key. A negative score rises as it decays (a smaller key): that item moves up at once (`raise`).
// Dropped boxes stay until they reach the top. Size and work: O(n) items, O(log n) per pick and per correction.
class PickHeap {
 public:
  explicit PickHeap(size_t n) : pos_(n, -1) { items_.reserve(n); }
  bool empty() const { return items_.empty(); }
  uint64_t top() const { return items_[0]; }
  void push(uint64_t item) {
    items_.push_back(item);
    up(items_.size() - 1);
  }
  void pop() {
    pos_[TopK::index_of(items_[0])] = -1;
    const uint64_t last = items_.back();
    items_.pop_back();
    if (!items_.empty()) items_[0] = last, down(0);
  }
  // The top item's current key, >= the stored one.
  void replace_top(uint64_t item) {
    items_[0] = item;
    down(0);
  }
  // The item of index j (present) gets a key <= its stored one.
  void raise(uint64_t item) {
    const size_t p = static_cast<size_t>(pos_[TopK::index_of(item)]);
    items_[p] = item;
    up(p);
  }

 private:
  void place(size_t p, uint64_t item) {
    items_[p] = item;
    pos_[TopK::index_of(item)] = static_cast<int32_t>(p);
  }
  void up(size_t p) {
    const uint64_t it = items_[p];
    while (p > 0 && it < items_[(p - 1) / 2]) place(p, items_[(p - 1) / 2]), p = (p - 1) / 2;
    place(p, it);
  }
  void down(size_t p) {
    const uint64_t it = items_[p];
    const size_t n = items_.size();
    for (;;) {
      size_t c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && items_[c + 1] < items_[c]) ++c;
      if (!(items_[c] < it)) break;
      place(p, items_[c]), p = c;
    }
    place(p, it);
  }
  std::vector<uint64_t> items_;
  std::vector<int32_t> pos_;
};

// Monotone priority queue (radix heap) of the same items, for when every score is ≥ 0: a decayed score then stays
// ≥ 0 and never rises, so no current key is ever below the last key taken, and items can be filed by the highest bit
// where they differ from it (bucket b: bit b − 1; bucket 0: equal). Taking the top refiles only the first non-empty
// bucket, each item moving to a lower bucket, so an item moves at most 65 times over its life, through sequential
// memory (a binary heap's sift touches log n scattered slots per correction). Same order as PickHeap.
class RadixHeap {
 public:
  explicit RadixHeap(size_t n) { buckets_[64].reserve(n); }
  bool empty() const { return size_ == 0; }
  void push(uint64_t item) {
    buckets_[bucket(item)].push_back(item);
    ++size_;
  }
  uint64_t top() {
    if (buckets_[0].empty()) {
      size_t b = 1;
      while (buckets_[b].empty()) ++b;
      std::vector<uint64_t>& from = buckets_[b];
      last_ = *std::min_element(from.begin(), from.end());
      for (uint64_t it : from) buckets_[bucket(it)].push_back(it);
      from.clear();
    }
    return buckets_[0].back();
  }
  void pop() {
    buckets_[0].pop_back();
    --size_;
  }
  void replace_top(uint64_t item) {
    pop();
    push(item);
  }
  void raise(uint64_t) {}  // never called: scores ≥ 0 only fall

 private:
  size_t bucket(uint64_t item) const {
    return item == last_ ? 0 : 64 - static_cast<size_t>(__builtin_clzll(item ^ last_));
  }
  std::vector<uint64_t> buckets_[65];
  uint64_t last_ = 0;
  size_t size_ = 0;
};

template <typename Heap>
void soft_nms_run(bool use_grid, const std::vector<int32_t>& order, const float* boxes, const float* scores, size_t n,
                  float sigma, double iou_threshold, float score_threshold, size_t cap, std::vector<int32_t>& indices,
                  std::vector<float>& out_scores) {
  // Only boxes overlapping the pick change (exp(-0²/σ) is exactly 1), so a BoxTree finds them and a heap of
  // (score, index) items with lazily corrected keys finds the next pick: O(n log n + decays + corrections · log n)
  // whatever the layout (a correction per box that reaches the top decayed), the same picks and float32 scores as
  // the plain O(n²) loop. Only boxes with IoU > max(iou_threshold, 0) with the pick decay. Up to kSoftNmsScanMax
  // candidates a plain scan of the candidates is faster than the tree (same result: a box the tree would not report
  // has IoU 0 with the pick, or ≤ iou_threshold, and is left unchanged either way).
  auto key = [](float score, int32_t j) {
    return (static_cast<uint64_t>(desc_key(score)) << 32) | static_cast<uint32_t>(j);
  };
  Heap heap(n);
  // Decays the score of box j, whose IoU with the pick is `iou`; returns whether it stays above score_threshold.
  auto decay = [&](int32_t j, float iou, float& score) {
    if (iou == 0.f) return true;  // exp(−0/σ) = 1: unchanged
    if (iou_threshold >= 0 && !(static_cast<double>(iou) > iou_threshold)) return true;
    const float f = expf_sleef(-(iou * iou) / sigma);
    if (f == 1.f) return true;
    const float before = score;
    score *= f;
    if (!(score > score_threshold)) return false;  // its heap item goes when it reaches the top
    if (before < 0) heap.raise(key(score, j));     // a negative score rises towards 0
    return true;
  };
  if (!use_grid) {
    std::vector<float> cur(scores, scores + n);
    std::vector<uint8_t> alive(n, 0);
    for (int32_t j : order) alive[j] = 1, heap.push(key(cur[j], j));
    while (!heap.empty() && indices.size() < cap) {
      const uint64_t top = heap.top();
      const int32_t m = TopK::index_of(top);
      if (!alive[m]) {
        heap.pop();
        continue;
      }
      if (key(cur[m], m) != top) {  // decayed since it was placed: back down with its current score
        heap.replace_top(key(cur[m], m));
        continue;
      }
      heap.pop();
      alive[m] = 0;
      indices.push_back(m), out_scores.push_back(cur[m]);
      const float* bm = boxes + 4 * static_cast<size_t>(m);
      if (!finite_box(bm)) continue;  // IoU 0 with everything: decays nothing
      const float am = box_area(bm);
      for (int32_t j : order) {
        if (!alive[j]) continue;
        const float* bj = boxes + 4 * static_cast<size_t>(j);
        alive[j] = decay(j, iou_scalar(bm, am, bj, box_area(bj)), cur[j]);
      }
    }
    return;
  }
  // The tree holds the current scores of the boxes it indexes; the others (IoU 0 with everything) keep theirs.
  BoxTree tree(boxes, order.data(), order.size(), iou_threshold >= 0 ? iou_threshold : 0.0);
  for (size_t i = 0; i < order.size(); ++i) {
    const int32_t j = order[i];
    heap.push(key(scores[j], j));
    tree.insert(i, scores[j], n);
  }
  while (!heap.empty() && indices.size() < cap) {
    const uint64_t top = heap.top();
    const int32_t m = TopK::index_of(top);
    const float s = tree.score(m, scores[m]);
    if (std::isnan(s)) {  // dropped below score_threshold by a decay
      heap.pop();
      continue;
    }
    if (key(s, m) != top) {
      heap.replace_top(key(s, m));
      continue;
    }
    heap.pop();
    indices.push_back(m), out_scores.push_back(s);
    // The next pick's score lookups (decays leave the heap as it is): fetched while this pick's query runs.
    if (!heap.empty()) tree.prefetch_score(TopK::index_of(heap.top()));
    tree.kill(m);
    const float* bm = boxes + 4 * static_cast<size_t>(m);
    const float am = box_area(bm);
    tree.for_each_alive(bm, [&](int32_t j, const float* bj, float aj, float& score) {
      return decay(j, iou_scalar(bm, am, bj, aj), score);
    });
  }
}

void soft_nms_impl(int mode, const float* boxes, const float* scores, size_t n, float sigma, double iou_threshold,
                   float score_threshold, int64_t max_out, std::vector<int32_t>& indices,
                   std::vector<float>& out_scores) {
  std::vector<int32_t> order;
  sorted_indices_above(scores, n, score_threshold, order);
  const size_t cap = limit(max_out, order.size());
  const bool use_grid = mode < 0 ? order.size() >= soft_grid_min_boxes.load(std::memory_order_relaxed) : mode > 0;
  // The candidates are sorted: the last has the lowest score.
  if (order.empty() || scores[order.back()] >= 0)
    soft_nms_run<RadixHeap>(use_grid, order, boxes, scores, n, sigma, iou_threshold, score_threshold, cap, indices,
                            out_scores);
  else
    soft_nms_run<PickHeap>(use_grid, order, boxes, scores, n, sigma, iou_threshold, score_threshold, cap, indices,
                           out_scores);
}

}  // namespace

void set_grid_min_boxes_for_testing(size_t greedy_min, size_t soft_min) {
  const bool reset = greedy_min == 0 && soft_min == 0;
  grid_min_boxes.store(reset ? kGridMinBoxes : greedy_min, std::memory_order_relaxed);
  soft_grid_min_boxes.store(reset ? kSoftNmsScanMax + 1 : soft_min, std::memory_order_relaxed);
}

void soft_nms(const float* boxes, const float* scores, size_t n, float sigma, double iou_threshold,
              float score_threshold, int64_t max_out, std::vector<int32_t>& indices, std::vector<float>& out_scores) {
  soft_nms_impl(-1, boxes, scores, n, sigma, iou_threshold, score_threshold, max_out, indices, out_scores);
}

void soft_nms_with(bool use_grid, const float* boxes, const float* scores, size_t n, float sigma, double iou_threshold,
                   float score_threshold, int64_t max_out, std::vector<int32_t>& indices,
                   std::vector<float>& out_scores) {
  soft_nms_impl(use_grid ? 1 : 0, boxes, scores, n, sigma, iou_threshold, score_threshold, max_out, indices,
                out_scores);
}

}  // namespace ssd
