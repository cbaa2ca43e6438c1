#include "sort.h"

#include <algorithm>
#include <cstring>

namespace ssd {

namespace {

// Stable LSD radix sort of packed items by their upper 32 bits (desc_key of the score), 8 bits per pass,
// skipping passes where every item has the same digit. Items enter in ascending index order, so equal
// scores stay in ascending index order — the same result as sorting the whole 64-bit items.
void radix_sort_items(std::vector<uint64_t>& items, std::vector<uint64_t>& tmp) {
  const size_t n = items.size();
  if (n < 64) {
    std::sort(items.begin(), items.end());
    return;
  }
  tmp.resize(n);
  for (int shift = 32; shift < 64; shift += 8) {
    size_t count[257] = {0};
    for (uint64_t v : items) ++count[((v >> shift) & 255) + 1];
    if (count[((items[0] >> shift) & 255) + 1] == n) continue;
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (uint64_t v : items) tmp[count[(v >> shift) & 255]++] = v;
    items.swap(tmp);
  }
}

}  // namespace

void TopK::select(size_t k) {
  const size_t n = scores_.size();
  auto pack = [this](size_t i) {
    return (static_cast<uint64_t>(desc_key(scores_[i])) << 32) | static_cast<uint32_t>(index_[i]);
  };
  items_.clear();
  if (lo_ == hi_) {  // all scores equal: the first k pushed (ascending index) are the k best
    for (size_t i = 0; i < std::min(n, k); ++i) items_.push_back(pack(i));
    return;
  }
  if (n <= k) {  // everything fits
    for (size_t i = 0; i < n; ++i) items_.push_back(pack(i));
    radix_sort_items(items_, tmp_);
    return;
  }
  size_t kBins = 64;  // about n/2 buckets, so the boundary bucket stays small
  while (kBins < 4096 && kBins < n / 2) kBins *= 2;
  const ScoreBuckets bin(lo_, hi_, kBins);
  hist_.assign(kBins, 0);
  bins_.resize(n);
  for (size_t i = 0; i < n; ++i) ++hist_[bins_[i] = static_cast<uint16_t>(bin(scores_[i]))];
  size_t boundary = 0, before = 0;
  while (before + hist_[boundary] < k) before += hist_[boundary++];
  for (size_t i = 0; i < n; ++i)
    if (bins_[i] <= boundary) items_.push_back(pack(i));
  // Winners (bins < boundary) plus the boundary bucket: sort and cut to k.
  radix_sort_items(items_, tmp_);
  items_.resize(k);
}

namespace {

// Stable LSD radix sort (3 passes of 11 bits) of idx by desc_key(scores[idx]); starting from ascending
// indices, stability leaves equal scores in ascending index order.
void radix_sort(const float* scores, std::vector<int32_t>& idx) {
  const size_t n = idx.size();
  std::vector<uint32_t> keys(n), keys2(n);
  std::vector<int32_t> tmp(n);
  for (size_t i = 0; i < n; ++i) keys[i] = desc_key(scores[idx[i]]);
  for (int pass = 0; pass < 3; ++pass) {
    const int shift = pass * 11;
    size_t count[2049] = {0};
    for (size_t i = 0; i < n; ++i) ++count[((keys[i] >> shift) & 2047) + 1];
    for (int b = 0; b < 2048; ++b) count[b + 1] += count[b];
    for (size_t i = 0; i < n; ++i) {
      const size_t dst = count[(keys[i] >> shift) & 2047]++;
      keys2[dst] = keys[i];
      tmp[dst] = idx[i];
    }
    keys.swap(keys2);
    idx.swap(tmp);
  }
}

}  // namespace

void sort_by_score_desc(const float* scores, std::vector<int32_t>& idx) {
  if (idx.size() > 512) {
    std::sort(idx.begin(), idx.end());
    radix_sort(scores, idx);
    return;
  }
  std::sort(idx.begin(), idx.end(),
            [scores](int32_t a, int32_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
}

void sorted_indices_above(const float* scores, size_t n, float threshold, std::vector<int32_t>& out) {
  out.clear();
  for (size_t i = 0; i < n; ++i)
    if (scores[i] > threshold) out.push_back(static_cast<int32_t>(i));
  if (out.size() > 512)
    radix_sort(scores, out);
  else
    sort_by_score_desc(scores, out);
}

}  // namespace ssd
