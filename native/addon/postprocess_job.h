// Parses postprocess arguments (shared by the sync call and the AsyncWorker) and runs the batch.
#pragma once
#include <napi.h>

#include <vector>

#include "../core/postprocess.h"

namespace ssd::addon {

struct PostprocessJob {
  const float* reg = nullptr;
  const float* logits = nullptr;
  const float* anchors = nullptr;
  size_t batch = 0, num_anchors = 0, num_classes = 0;
  std::vector<float> image_hw;  // [batch*2]
  PostprocessParams params;
  std::vector<Detections> results;

  // Reads info[0..6]; throws Napi errors on bad input.
  void parse(const Napi::CallbackInfo& info);
  // Pure C++; safe off the JS thread.
  void run();
  Napi::Array to_js(Napi::Env env) const;
};

}  // namespace ssd::addon
