// Replays the committed fuzz corpus and crash reproducers without libFuzzer: for every target in targets.h, every
// file under <root>/corpus/<target>/ and <root>/crashes/<target>/ is passed to the target once. Built with g++ and
// ASan/UBSan by scripts/native-tests.mjs (CMake target fuzz_replay); a sanitizer report or a violated invariant
// aborts. Usage: fuzz_replay <native/fuzz folder>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "targets.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <native/fuzz folder>\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path root(argv[1]);
  size_t total = 0;
  for (size_t t = 0; t < ssd::fuzz::kNumTargets; ++t) {
    const auto& target = ssd::fuzz::kTargets[t];
    size_t files = 0;
    for (const char* kind : {"corpus", "crashes"}) {
      const fs::path dir = root / kind / target.name;
      if (!fs::is_directory(dir)) continue;
      std::vector<fs::path> paths;
      for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) paths.push_back(e.path());
      std::sort(paths.begin(), paths.end());
      for (const auto& p : paths) {
        std::ifstream in(p, std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        target.fn(bytes.data(), bytes.size());
        ++files;
      }
    }
    std::printf("fuzz replay %-14s %zu inputs\n", target.name, files);
    if (files == 0) {
      std::fprintf(stderr, "no corpus for %s under %s\n", target.name, root.c_str());
      return 1;
    }
    total += files;
  }
  std::printf("fuzz replay: %zu inputs, no failure\n", total);
  return 0;
}
