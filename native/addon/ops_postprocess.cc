// N-API wrappers for the SSD postprocess: postprocess (sync) and postprocessAsync (AsyncWorker, worker.cc).
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "convert.h"
#include "ops.h"
#include "postprocess_job.h"
#include "worker.h"

namespace ssd::addon {

Napi::Value Postprocess(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    PostprocessJob job;
    job.parse(info);
    job.run();
    return job.to_js(info.Env());
  });
}

Napi::Value PostprocessAsyncGuarded(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return PostprocessAsync(info); });
}

}  // namespace ssd::addon
