#include "dispatch.h"

#include <atomic>
#include <cstdlib>

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

std::string set_level(const std::string& level) {
  const Kernels* k = level == "auto" ? best() : by_name(level);
  if (!k) throw InvalidArgument("simd level '" + level + "' is not supported on this CPU or not compiled in");
  active.store(k, std::memory_order_relaxed);
  return k->name;
}

}  // namespace ssd
