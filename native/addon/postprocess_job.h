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
  std::vector<float> owned_reg, owned_logits, owned_anchors;
  PostprocessParams params;
  std::vector<Detections> results;

  // Reads info[0..6]; throws Napi errors on bad input. The arrays are used in place (zero copy)...
  void parse(const Napi::CallbackInfo& info);
  // ...unless the job outlives the call (AsyncWorker): JS could detach (transfer) an input ArrayBuffer while the
  // worker reads it, and N-API cannot pin one, so the async path copies the inputs first.
  void own_inputs();
  // Pure C++; safe off the JS thread.
  void run();
  Napi::Array to_js(Napi::Env env) const;
};

}  // namespace ssd::addon
