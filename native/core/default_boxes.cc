#include "default_boxes.h"

#include <algorithm>

namespace ssd {

size_t default_box_count(const std::vector<DefaultBoxLevel>& levels) {
  size_t n = 0;
  for (const auto& l : levels) n += static_cast<size_t>(l.rows) * l.cols * l.num_shapes;
  return n;
}

void default_boxes(int input_h, int input_w, const std::vector<DefaultBoxLevel>& levels, const double* shapes,
                   size_t num_shapes, DefaultBoxClip clip, float* out) {
  size_t shape_base = 0;
  for (const auto& l : levels) {
    if (shape_base + l.num_shapes > num_shapes) throw InvalidArgument("shapes: fewer (w, h) pairs than the levels use");
    for (int i = 0; i < l.rows; ++i) {
      const double cy = (i + l.offset) * l.step_y / input_h;
      for (int j = 0; j < l.cols; ++j) {
        const double cx = (j + l.offset) * l.step_x / input_w;
        for (int s = 0; s < l.num_shapes; ++s) {
          double w = shapes[2 * (shape_base + s)], h = shapes[2 * (shape_base + s) + 1];
          double bx = cx, by = cy;
          if (clip == DefaultBoxClip::WH) {
            w = std::clamp(w, 0.0, 1.0);
            h = std::clamp(h, 0.0, 1.0);
          } else if (clip == DefaultBoxClip::XYXY) {
            const double x1 = std::clamp(cx - 0.5 * w, 0.0, 1.0), x2 = std::clamp(cx + 0.5 * w, 0.0, 1.0);
            const double y1 = std::clamp(cy - 0.5 * h, 0.0, 1.0), y2 = std::clamp(cy + 0.5 * h, 0.0, 1.0);
            bx = 0.5 * (x1 + x2), by = 0.5 * (y1 + y2), w = x2 - x1, h = y2 - y1;
          }
          *out++ = static_cast<float>(bx);
          *out++ = static_cast<float>(by);
          *out++ = static_cast<float>(w);
          *out++ = static_cast<float>(h);
        }
      }
    }
    shape_base += l.num_shapes;
  }
}

}  // namespace ssd
