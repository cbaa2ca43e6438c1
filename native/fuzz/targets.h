// Fuzz targets for every native core entry point (no N-API): each reads its arguments from the fuzzer's bytes,
// shaped as the addon validates them (lengths, counts, index ranges) with arbitrary values (NaN, ±Inf, huge,
// subnormal), calls the core and checks the invariants it can (e.g. the NMS grid decides exactly as the linear
// scan). Built with libFuzzer by scripts/fuzz.mjs (`npm run fuzz`, libfuzzer_main.cc) and replayed over the
// committed corpus and crash reproducers by replay_main.cc (scripts/native-tests.mjs, part of `npm test`).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ssd::fuzz {

using Target = int (*)(const uint8_t* data, size_t size);

struct NamedTarget {
  const char* name;  // also the corpus folder: native/fuzz/corpus/<name>/
  Target fn;
};

extern const NamedTarget kTargets[];
extern const size_t kNumTargets;

int default_boxes(const uint8_t* data, size_t size);
int box_coder(const uint8_t* data, size_t size);
int iou(const uint8_t* data, size_t size);
int nms(const uint8_t* data, size_t size);
int batched_nms(const uint8_t* data, size_t size);
int soft_nms(const uint8_t* data, size_t size);
int postprocess(const uint8_t* data, size_t size);
int matcher(const uint8_t* data, size_t size);
int loss(const uint8_t* data, size_t size);
int preprocess(const uint8_t* data, size_t size);
int augment(const uint8_t* data, size_t size);

}  // namespace ssd::fuzz
