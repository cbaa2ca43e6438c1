// Training-time augmentation, pixel part: the photometric distortion, zoom out, crop, flip and bilinear resize of
// one RGB image in one pass, with every random decision already taken (lib/train/augment.ts draws them). float32
// arithmetic in a fixed order, so the TypeScript twin (applyAugmentPlanTs) gives bit-identical bytes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ssd {

struct AugmentParams {
  float brightness = 0.f;      // added to every channel, then clamped to [0, 255]; 0 = off. [-255, 255]
  float contrast = 1.f;        // multiplies every channel, then clamped; 1 = off. [0, 255]
  bool contrast_first = true;  // contrast before the HSV part (else after)
  float saturation = 1.f;      // multiplies S (then S <= 1); 1 = off. [0, 255]
  float hue = 0.f;             // degrees added to H, wrapped to [0, 360); 0 = off. [-360, 360]
  int swap[3] = {0, 1, 2};     // output channel k takes channel swap[k] (a permutation)
  int64_t left = 0, top = 0;   // the image's top-left pixel on the zoom-out canvas
  int64_t crop_x = 0, crop_y = 0, crop_w = 1, crop_h = 1;  // crop on the canvas (w, h >= 1)
  bool flip = false;                                       // mirror the crop horizontally
  float fill[3] = {123.f, 117.f, 104.f};                   // canvas outside the image, RGB [0, 255]
};

// Number of values in the flat parameter vector the addon and the fuzz target read (see params_from_vector).
constexpr size_t kAugmentParamCount = 18;

// AugmentParams from [brightness, contrast, contrast_first, saturation, hue, swap0..2, left, top, crop_x, crop_y,
// crop_w, crop_h, flip, fill0..2]; throws InvalidArgument naming the entry when a value is out of range.
AugmentParams params_from_vector(const double* v);

// The photometric chain on one pixel (values 0..255 in, float32 0..255 out in rgb_out).
void photometric_pixel(const uint8_t* rgb, const AugmentParams& p, float* rgb_out);

// The photometric kernel of the active SIMD level (AVX2 when kernels().name is "avx2", else scalar; bit-identical).
using PhotometricPlanarFn = void (*)(float* r, float* g, float* b, size_t n, const AugmentParams& p);
PhotometricPlanarFn photometric_planar_kernel();

// src: width x height RGB bytes (rows packed); out: out_w x out_h RGB bytes. Pixels outside the image (zoom out, a
// crop reaching beyond the canvas) take `fill`. Throws InvalidArgument for sizes < 1 or a bad permutation.
void augment_pixels(const uint8_t* src, int width, int height, const AugmentParams& p, uint8_t* out, int out_w,
                    int out_h);

}  // namespace ssd
