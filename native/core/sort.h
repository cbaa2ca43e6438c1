// Index sorting by decreasing score with ties broken by ascending index (torchvision's observed order).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ssd {

// Maps a float to a key whose ascending unsigned order is decreasing float order (-0 == +0; NaN unspecified).
inline uint32_t desc_key(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (f == 0.f) u = 0;
  const uint32_t asc = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ~asc;
}

// The float whose desc_key is `key` (inverse of desc_key).
inline float float_of_desc_key(uint32_t key) {
  const uint32_t asc = ~key;
  const uint32_t u = (asc & 0x80000000u) ? (asc & 0x7fffffffu) : ~asc;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Buckets of scores in [lo, hi] by their desc_key: bucket 0 holds hi, buckets are monotone (a lower bucket holds
// strictly better scores) and nearly logarithmic in the score, so a few outliers do not crowd the rest into one
// bucket; pure integer arithmetic, any float (±Inf included).
struct ScoreBuckets {
  uint32_t top;  // desc_key(hi)
  int shift;
  ScoreBuckets(float lo, float hi, size_t buckets) : top(desc_key(hi)), shift(0) {
    const uint32_t range = desc_key(lo) - top;
    while ((range >> shift) >= buckets) ++shift;
  }
  size_t operator()(float v) const { return (desc_key(v) - top) >> shift; }
  // Scores > this fall in buckets <= b.
  float below(size_t b) const {
    return float_of_desc_key(static_cast<uint32_t>(top + ((static_cast<uint64_t>(b) + 1) << shift)));
  }
};
// Per-class candidate collection and exact top-k: push every (score, index) with score > threshold in
// ascending index order, then select() the k best by decreasing score, ties by ascending index. Selection
// is O(n + k log k): a histogram over [min, max] finds the boundary bucket, only it and the winners are sorted.
class TopK {
 public:
  void reset(float threshold) {
    threshold_ = threshold, lo_ = __builtin_inff(), hi_ = -__builtin_inff();
    scores_.clear(), index_.clear(), items_.clear();
  }
  void push(float score, int32_t index) {
    if (score > threshold_) push_passing(score, index);  // NaN never passes
  }
  // push() for a score already known to be > the threshold.
  void push_passing(float score, int32_t index) {
    scores_.push_back(score), index_.push_back(index);
    lo_ = score < lo_ ? score : lo_, hi_ = score > hi_ ? score : hi_;
  }
  size_t size() const { return scores_.size(); }
  size_t capacity_bytes() const {
    return scores_.capacity() * 4 + index_.capacity() * 4 + items_.capacity() * 8 + tmp_.capacity() * 8 +
           bins_.capacity() * 2 + hist_.capacity() * 4;
  }
  // Fills items() with the k best, best first, packed as desc_key(score) << 32 | index.
  void select(size_t k);
  const std::vector<uint64_t>& items() const { return items_; }
  static int32_t index_of(uint64_t item) { return static_cast<int32_t>(static_cast<uint32_t>(item)); }
  static float score_of(uint64_t item) { return float_of_desc_key(static_cast<uint32_t>(item >> 32)); }

 private:
  float threshold_ = 0.f, lo_ = 0.f, hi_ = 0.f;
  std::vector<float> scores_;
  std::vector<uint16_t> bins_;
  std::vector<int32_t> index_;
  std::vector<uint64_t> items_, tmp_;
  std::vector<uint32_t> hist_;
};

// Writes the indices i < n with scores[i] > threshold (NaN never passes), sorted by decreasing score,
// equal scores by ascending index.
void sorted_indices_above(const float* scores, size_t n, float threshold_exclusive, std::vector<int32_t>& out);
// Sorts `idx` (any order of distinct indices) by decreasing scores[idx], equal scores by ascending index.
void sort_by_score_desc(const float* scores, std::vector<int32_t>& idx);

}  // namespace ssd
