// Chooses the kernel table once at load (best the CPU supports) and lets callers force one.
#pragma once
#include <string>
#include <vector>
#include "kernels.h"

namespace ssd {

// Table in use now.
const Kernels& kernels();
// Names of variants compiled in / runnable on this CPU.
std::vector<std::string> compiled_levels();
std::vector<std::string> supported_levels();
// "auto" picks the best supported; throws InvalidArgument for an unknown or unsupported name. Returns the active name.
std::string set_level(const std::string& level);

// CPU features that decide what 8-bit integer kernels gain (ONNX Runtime's int8 GEMMs): x86 AVX2 (u8·s8 pairs
// summed in int16, which can saturate), AVX-512 (BW), VNNI (AVX512_VNNI or AVX_VNNI: u8·s8 dot products into int32,
// no saturation); arm64 NEON, dot product (SDOT/UDOT) and I8MM. Read once from the CPU (cpuid / getauxval).
struct CpuFeatures {
  bool avx2 = false;
  bool avx512 = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;
  bool neon = false;
  bool dotprod = false;
  bool i8mm = false;
};
CpuFeatures cpu_features();

}  // namespace ssd
