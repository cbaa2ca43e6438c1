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

}  // namespace ssd
