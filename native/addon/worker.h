// Batch postprocess off the event loop. Execute only records errors; OnOK/OnError call back on the JS thread.
#pragma once
#include <napi.h>

#include "postprocess_job.h"

namespace ssd::addon {

class PostprocessWorker : public Napi::AsyncWorker {
 public:
  // Keeps the input arrays alive (and their memory pinned) until the callback runs.
  PostprocessWorker(Napi::Function callback, PostprocessJob job, const Napi::CallbackInfo& info);
  void Execute() override;
  void OnOK() override;

 private:
  PostprocessJob job_;
  Napi::ObjectReference inputs_;
};

Napi::Value PostprocessAsync(const Napi::CallbackInfo& info);

}  // namespace ssd::addon
