// N-API wrappers for the SIMD level: capabilities() and setSimd().
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../simd/dispatch.h"
#include "convert.h"
#include "ops.h"

namespace ssd::addon {

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("compiled", strings(info.Env(), compiled_levels()));
  o.Set("supported", strings(info.Env(), supported_levels()));
  o.Set("active", kernels().name);
  // what int8 inference can use (additive: older binaries lack the field)
  const CpuFeatures f = cpu_features();
  auto cpu = Napi::Object::New(info.Env());
  cpu.Set("avx2", f.avx2);
  cpu.Set("avx512", f.avx512);
  cpu.Set("avx512Vnni", f.avx512_vnni);
  cpu.Set("avxVnni", f.avx_vnni);
  cpu.Set("vnni", f.avx512_vnni || f.avx_vnni);
  cpu.Set("neon", f.neon);
  cpu.Set("dotProduct", f.dotprod);
  cpu.Set("i8mm", f.i8mm);
  o.Set("cpu", cpu);
  return o;
}

Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (!info[0].IsString()) type_error(info.Env(), "'auto' | 'scalar' | 'avx2' | 'neon'", "level", info[0]);
    return Napi::String::New(info.Env(), set_level(info[0].As<Napi::String>().Utf8Value()));
  });
}

}  // namespace ssd::addon
