#include "grid.h"

#include "../simd/kernels.h"

#include <algorithm>
#include <cmath>

namespace ssd {
namespace {
}  // namespace

BoxGrid::BoxGrid(const float* boxes, const int32_t* order, size_t n) : boxes_(boxes) {
  // Extent over both corners (a box may be inverted, x2 < x1), median of the positive sides.
  float lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
  std::vector<float> sides;
  for (size_t i = 0; i < n; ++i) {
    const float* b = boxes + 4 * static_cast<size_t>(order[i]);
    if (!finite_box(b)) continue;
    lo_x = std::min({lo_x, b[0], b[2]}), hi_x = std::max({hi_x, b[0], b[2]});
    lo_y = std::min({lo_y, b[1], b[3]}), hi_y = std::max({hi_y, b[1], b[3]});
    const float side = std::max(b[2] - b[0], b[3] - b[1]);
    if (side > 0 && sides.size() < 4096) sides.push_back(side);
  }
  if (!sides.empty()) {
    std::nth_element(sides.begin(), sides.begin() + sides.size() / 2, sides.end());
    cell_ = std::max<double>(sides[sides.size() / 2], 1e-30);
  }
  const double span_x = static_cast<double>(hi_x) - lo_x, span_y = static_cast<double>(hi_y) - lo_y;
  if (std::isfinite(span_x) && std::isfinite(span_y) && span_x >= 0 && span_y >= 0) {
    const double span = std::max(span_x, span_y);
    if (span / cell_ > kMaxSide) cell_ = span / kMaxSide;
    lo_x_ = lo_x, lo_y_ = lo_y;
    w_ = static_cast<int>(std::clamp(span_x / cell_ + 1.0, 1.0, static_cast<double>(kMaxSide)));
    h_ = static_cast<int>(std::clamp(span_y / cell_ + 1.0, 1.0, static_cast<double>(kMaxSide)));
  }
  cells_.resize(static_cast<size_t>(w_) * h_);
}

void BoxGrid::range(const float* b, int& x0, int& x1, int& y0, int& y1) const {
  auto cx = [&](float x) { return static_cast<int>(std::clamp((x - lo_x_) / cell_, 0.0, w_ - 1.0)); };
  auto cy = [&](float y) { return static_cast<int>(std::clamp((y - lo_y_) / cell_, 0.0, h_ - 1.0)); };
  x0 = cx(b[0]), x1 = cx(b[2]), y0 = cy(b[1]), y1 = cy(b[3]);
}

void BoxGrid::insert(int32_t idx) {
  const float* b = boxes_ + 4 * static_cast<size_t>(idx);
  int x0, x1, y0, y1;
  range(b, x0, x1, y0, y1);
  if (x1 < x0 || y1 < y0) return;
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > kMaxCellsPerBox) {
    big_.push_back(idx);
    return;
  }
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) cells_[static_cast<size_t>(y) * w_ + x].push_back(idx);
}

}  // namespace ssd
