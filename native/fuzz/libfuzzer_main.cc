// libFuzzer entry for one target, chosen at compile time: clang++ -fsanitize=fuzzer,address,undefined
// -DSSD_FUZZ_TARGET=nms ... (scripts/fuzz.mjs builds one binary per target).
#include "targets.h"

#ifndef SSD_FUZZ_TARGET
#error "define SSD_FUZZ_TARGET to one of the names in targets.h"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssd::fuzz::SSD_FUZZ_TARGET(data, size);
}
