// Vector kernels of the augmentation (native/core/augment.cc): the photometric chain over planar float rows. Apart
// from the Kernels table (kernels.h) so the augmentation adds files instead of editing the shared ones; chosen by
// the same level (kernels().name). Every variant gives bit-identical results to photometric_pixel.
#pragma once
#include <cstddef>

namespace ssd {

struct AugmentParams;

// In place over n pixels in planar form: r[i], g[i], b[i] in 0..255 → the photometric chain's output, channel
// order already swapped (plane 0 holds output channel 0).
using PhotometricPlanarFn = void (*)(float* r, float* g, float* b, size_t n, const AugmentParams& p);

// Null when not compiled for this target (non-x86-64 / non-arm64). Callers check the CPU through kernels().name.
PhotometricPlanarFn photometric_planar_avx2();
PhotometricPlanarFn photometric_planar_neon();

}  // namespace ssd
