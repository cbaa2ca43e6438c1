#include "dispatch.h"

#include <atomic>
#include <cstdlib>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#endif

namespace ssd {
namespace {

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

const Kernels* by_name(const std::string& name) {
  if (name == "scalar") return &scalar_kernels();
  if (name == "avx2") return cpu_has_avx2_fma() ? avx2_kernels() : nullptr;
  if (name == "neon") return neon_kernels();  // NEON is baseline on arm64
  return nullptr;
}

const Kernels* best() {
  if (const Kernels* k = by_name("avx2")) return k;
  if (const Kernels* k = by_name("neon")) return k;
  return &scalar_kernels();
}

const Kernels* initial() {
  // SSD_EDGE_SIMD=scalar|avx2|neon forces a variant for the whole process (ignored when unsupported).
  if (const char* env = std::getenv("SSD_EDGE_SIMD")) {
    if (const Kernels* k = by_name(env)) return k;
  }
  return best();
}

std::atomic<const Kernels*> active{initial()};

}  // namespace

const Kernels& kernels() { return *active.load(std::memory_order_relaxed); }

std::vector<std::string> compiled_levels() {
  std::vector<std::string> out{"scalar"};
  if (avx2_kernels()) out.push_back("avx2");
  if (neon_kernels()) out.push_back("neon");
  return out;
}

std::vector<std::string> supported_levels() {
  std::vector<std::string> out;
  for (const auto& name : compiled_levels())
    if (by_name(name)) out.push_back(name);
  return out;
}

CpuFeatures cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
  f.avx_vnni = __builtin_cpu_supports("avxvnni");
#endif
#elif defined(__aarch64__)
  f.neon = true;  // baseline on arm64
#if defined(__linux__)
  f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  f.i8mm = (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#endif
#endif
  return f;
}

std::string set_level(const std::string& level) {
  const Kernels* k = level == "auto" ? best() : by_name(level);
  if (!k) throw InvalidArgument("simd level '" + level + "' is not supported on this CPU or not compiled in");
  active.store(k, std::memory_order_relaxed);
  return k->name;
}

}  // namespace ssd
