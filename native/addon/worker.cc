#include "worker.h"

#include <exception>

#include "convert.h"

namespace ssd::addon {

PostprocessWorker::PostprocessWorker(Napi::Function callback, PostprocessJob job)
    : Napi::AsyncWorker(callback, "ssd-edge:postprocess"), job_(std::move(job)) {}

void PostprocessWorker::Execute() {
  try {
    job_.run();
  } catch (const std::exception& e) {
    SetError(e.what());
  }
}

void PostprocessWorker::OnOK() { Callback().Call({Env().Null(), job_.to_js(Env())}); }

Napi::Value PostprocessAsync(const Napi::CallbackInfo& info) {
  if (!info[7].IsFunction()) type_error(info.Env(), "function", "callback", info[7]);
  PostprocessJob job;
  job.parse(info);
  job.own_inputs();
  auto* worker = new PostprocessWorker(info[7].As<Napi::Function>(), std::move(job));
  worker->Queue();
  return info.Env().Undefined();
}

}  // namespace ssd::addon
