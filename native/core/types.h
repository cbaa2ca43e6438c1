// Shared plain types of the ssd-edge core (no N-API here).
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ssd {

// Thrown by the core for invalid arguments; the addon turns it into a JS RangeError/TypeError.
struct InvalidArgument : std::invalid_argument {
  explicit InvalidArgument(const std::string& what) : std::invalid_argument(what) {}
};

// Box-coder parameters: weights in the (x, y, w, h) sense (torchvision 10,10,5,5 = variances 0.1,0.1,0.2,0.2),
// delta order [dx,dy,dw,dh] (torchvision) or [ty,tx,th,tw] (TF Object Detection API), and the clamp applied to
// dw/ww and dh/wh before exp (log(1000/16) in torchvision).
struct CoderParams {
  float wx = 10.f, wy = 10.f, ww = 5.f, wh = 5.f;
  bool order_yx = false;
  float bbox_clip = 4.135166556742356f;
};

}  // namespace ssd
