// Uniform grid over xyxy boxes for exact overlap queries on large inputs (NMS, soft-NMS).
// Two boxes with a positive-area intersection always share a cell, because every inserted box is
// registered in every cell it covers; boxes covering more than kMaxCellsPerBox cells go to a list that
// every query visits. A query may report a box more than once; callers tolerate or dedupe.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ssd {

class BoxGrid {
 public:
  static constexpr int kMaxSide = 512;         // at most 512×512 cells
  static constexpr int kMaxCellsPerBox = 64;

  // Sizes the grid from the finite boxes among boxes[order[0..n)]: cell ≈ median box side, ≤ kMaxSide per axis.
  BoxGrid(const float* boxes, const int32_t* order, size_t n);
  // Registers box `idx` (finite coordinates; x2 < x1 or y2 < y1 registers nowhere: such a box overlaps nothing).
  void insert(int32_t idx);
  // Calls fn(j) for every registered box that may overlap `box`, stopping early when fn returns true;
  // returns whether it stopped.
  template <typename F>
  bool any(const float* box, F&& fn) const {
    for (int32_t j : big_)
      if (fn(j)) return true;
    int x0, x1, y0, y1;
    range(box, x0, x1, y0, y1);
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x)
        for (int32_t j : cells_[static_cast<size_t>(y) * w_ + x])
          if (fn(j)) return true;
    return false;
  }

 private:
  void range(const float* b, int& x0, int& x1, int& y0, int& y1) const;
  const float* boxes_;
  float lo_x_ = 0, lo_y_ = 0;
  double cell_ = 1;
  int w_ = 1, h_ = 1;
  std::vector<std::vector<int32_t>> cells_;
  std::vector<int32_t> big_;
};

}  // namespace ssd
