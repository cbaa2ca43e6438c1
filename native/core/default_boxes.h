// Default boxes (anchors; "priors" in the SSD paper) from an expanded declarative spec.
#pragma once
#include <vector>
#include "types.h"

namespace ssd {

enum class DefaultBoxClip { None = 0, WH = 1, XYXY = 2 };

struct DefaultBoxLevel {
  int rows, cols;         // feature-map size
  double step_y, step_x;  // input pixels between neighbouring centres
  double offset;          // centre offset in cells (0.5 = cell centre)
  int num_shapes;         // how many (w, h) pairs this level uses from the shape list
};

// Number of boxes the levels produce.
size_t default_box_count(const std::vector<DefaultBoxLevel>& levels);

// Writes cxcywh normalized boxes: level by level, row-major over cells (y outer, x inner), shapes in the
// given order. `shapes` holds (w, h) pairs, normalized, level after level. Centres are computed in double
// and stored as float; clip WH clamps w, h to [0,1] (torchvision), XYXY clips the corner form to [0,1] (Caffe).
void default_boxes(int input_h, int input_w, const std::vector<DefaultBoxLevel>& levels, const double* shapes,
                   size_t num_shapes, DefaultBoxClip clip, float* out);

}  // namespace ssd
