// Batch postprocess off the event loop. Execute only records errors; OnOK/OnError call back on the JS thread.
#pragma once
#include <napi.h>

#include "postprocess_job.h"

namespace ssd::addon {

class PostprocessWorker : public Napi::AsyncWorker {
 public:
  // Takes a job that owns copies of its inputs (PostprocessJob::own_inputs).
  PostprocessWorker(Napi::Function callback, PostprocessJob job);
  void Execute() override;
  void OnOK() override;

 private:
  PostprocessJob job_;
};

Napi::Value PostprocessAsync(const Napi::CallbackInfo& info);

}  // namespace ssd::addon
