// Plain C++ tests of the core (no Node): semantics on hand-made cases and every SIMD variant against the
// scalar reference on random inputs, bit for bit. Built and run by scripts/native-tests.mjs (host, and
// arm64 under qemu when a cross compiler is present). Exit code = number of failures.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../core/augment.h"
#include "../core/box_coder.h"
#include "../core/default_boxes.h"
#include "../core/grid.h"
#include "../core/iou.h"
#include "../core/loss.h"
#include "../core/matcher.h"
#include "../core/nms.h"
#include "../core/postprocess.h"
#include "../core/sort.h"
#include "../simd/dispatch.h"

namespace {

int failures = 0;
#define CHECK(cond, ...)                                           \
  do {                                                             \
    if (!(cond)) {                                                 \
      ++failures;                                                  \
      std::printf("FAIL %s:%d: %s — ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                    \
      std::printf("\n");                                           \
    }                                                              \
  } while (0)

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

std::vector<float> random_boxes(std::mt19937& rng, size_t n, float extent, float max_side) {
  std::uniform_real_distribution<float> pos(0.f, extent), side(0.5f, max_side);
  std::vector<float> b(4 * n);
  for (size_t i = 0; i < n; ++i) {
    const float x = pos(rng), y = pos(rng);
    b[4 * i] = x, b[4 * i + 1] = y, b[4 * i + 2] = x + side(rng), b[4 * i + 3] = y + side(rng);
  }
  return b;
}

void test_semantics() {
  ssd::set_level("scalar");
  // Strict '>' at the threshold, float32 IoU: two 10x10 boxes overlapping by half → IoU exactly 1/3.
  const float boxes[] = {0, 0, 10, 10, 5, 0, 15, 10};
  const float scores[] = {0.9f, 0.8f};
  CHECK(ssd::nms(boxes, scores, 2, 0.5, -INFINITY, -1, -1).size() == 2, "IoU 1/3 < 0.5 keeps both");
  CHECK(ssd::nms(boxes, scores, 2, 0.3, -INFINITY, -1, -1).size() == 1, "IoU 1/3 > 0.3 suppresses");
  // Ties: equal scores → ascending index.
  const float same[] = {0.5f, 0.5f};
  const auto keep = ssd::nms(boxes, same, 2, 0.3, -INFINITY, -1, -1);
  CHECK(keep.size() == 1 && keep[0] == 0, "tie keeps the lower index");
  // NaN score dropped, NaN box kept and never suppresses.
  const float nanbox[] = {NAN, 0, 10, 10, 0, 0, 10, 10};
  const float sc2[] = {0.9f, 0.8f};
  CHECK(ssd::nms(nanbox, sc2, 2, 0.1, -INFINITY, -1, -1).size() == 2, "non-finite box has IoU 0");
  const float nanscore[] = {NAN, 0.8f};
  CHECK(ssd::nms(boxes, nanscore, 2, 0.1, -INFINITY, -1, -1).size() == 1, "NaN score ignored");
  // Degenerate IoU → 0, never NaN.
  const float zero[] = {1, 1, 1, 1};
  float iou = -1;
  ssd::box_iou(zero, 1, zero, 1, &iou);
  CHECK(iou == 0.f, "two zero-area boxes give 0, got %g", iou);
  // Empty inputs.
  CHECK(ssd::nms(nullptr, nullptr, 0, 0.5, -INFINITY, -1, -1).empty(), "empty nms");
  // Default boxes: torchvision SSD300 last level (0.87 scale, ratio 2, clip wh) → w clamped to 1.
  std::vector<ssd::DefaultBoxLevel> lv{{1, 1, 300, 300, 0.5, 1}};
  const double shape[] = {0.87 * std::sqrt(2.0), 0.87 / std::sqrt(2.0)};
  float out[4];
  ssd::default_boxes(300, 300, lv, shape, 1, ssd::DefaultBoxClip::WH, out);
  CHECK(out[0] == 0.5f && out[2] == 1.f && std::fabs(out[3] - 0.6151829f) < 1e-6f, "clip wh: %g %g %g %g", out[0],
        out[1], out[2], out[3]);
  // expf_sleef: exact at 0, saturation, NaN.
  CHECK(ssd::expf_sleef(0.f) == 1.f, "exp(0)");
  CHECK(ssd::expf_sleef(-200.f) == 0.f && std::isinf(ssd::expf_sleef(200.f)), "exp saturation");
  CHECK(std::isnan(ssd::expf_sleef(NAN)), "exp(NaN)");
  CHECK(std::fabs(ssd::expf_sleef(1.f) - 2.7182817f) < 1e-6f, "exp(1)");
}

// Every variant against scalar on random data: identical bits for softmax, sigmoid, decode, IoU and NMS.
void test_variants() {
  std::mt19937 rng(1234);
  for (const std::string& level : ssd::supported_levels()) {
    if (level == "scalar") continue;
    for (int seed = 0; seed < 60; ++seed) {
      rng.seed(seed);
      std::normal_distribution<float> nd(0.f, 4.f);
      const size_t rows = 1 + seed * 7, cols = 1 + seed % 23;
      std::vector<float> logits(rows * cols);
      for (auto& v : logits) v = nd(rng);
      if (seed % 10 == 3) logits[0] = NAN, logits[rows * cols - 1] = 150.f;
      std::vector<float> a(rows * cols), b(rows * cols), sa(rows * cols), sb(rows * cols);
      ssd::set_level("scalar");
      ssd::kernels().softmax_rows(logits.data(), a.data(), rows, cols);
      ssd::kernels().sigmoid(logits.data(), sa.data(), rows * cols);
      ssd::set_level(level);
      ssd::kernels().softmax_rows(logits.data(), b.data(), rows, cols);
      ssd::kernels().sigmoid(logits.data(), sb.data(), rows * cols);
      bool ok = true;
      for (size_t i = 0; i < a.size(); ++i) ok &= (a[i] == b[i]) || (std::isnan(a[i]) && std::isnan(b[i]));
      CHECK(ok, "%s softmax differs (seed %d)", level.c_str(), seed);
      ok = true;
      for (size_t i = 0; i < sa.size(); ++i) ok &= (sa[i] == sb[i]) || (std::isnan(sa[i]) && std::isnan(sb[i]));
      CHECK(ok, "%s sigmoid differs (seed %d)", level.c_str(), seed);
      std::vector<float> ma(rows), sa2(rows), mb(rows), sb2(rows);
      ssd::set_level("scalar");
      ssd::kernels().exp_sums(logits.data(), ma.data(), sa2.data(), rows, cols);
      ssd::set_level(level);
      ssd::kernels().exp_sums(logits.data(), mb.data(), sb2.data(), rows, cols);
      ok = true;
      for (size_t i = 0; i < rows; ++i) ok &= (sa2[i] == sb2[i]) || (std::isnan(sa2[i]) && std::isnan(sb2[i]));
      CHECK(ok, "%s exp_sums differs (seed %d)", level.c_str(), seed);

      const size_t n = 1 + seed * 13;
      std::vector<float> deltas(4 * n), anchors(4 * n);
      std::uniform_real_distribution<float> u(0.05f, 1.f);
      for (size_t i = 0; i < n; ++i) {
        for (int k = 0; k < 4; ++k) deltas[4 * i + k] = nd(rng) * (seed % 5 == 0 ? 10.f : 1.f);
        if (seed % 6 == 1 && i % 3 == 0) deltas[4 * i + 2 + (i % 2)] = NAN;  // NaN dw/dh must stay NaN in every variant
        anchors[4 * i] = u(rng), anchors[4 * i + 1] = u(rng), anchors[4 * i + 2] = u(rng), anchors[4 * i + 3] = u(rng);
      }
      for (bool yx : {false, true}) {
        ssd::CoderParams p;
        p.order_yx = yx;
        std::vector<float> da(4 * n), db(4 * n);
        ssd::set_level("scalar");
        ssd::kernels().decode(deltas.data(), anchors.data(), da.data(), n, p);
        ssd::set_level(level);
        ssd::kernels().decode(deltas.data(), anchors.data(), db.data(), n, p);
        bool same = da.size() == db.size();
        for (size_t i = 0; same && i < da.size(); ++i)
          same = da[i] == db[i] || (std::isnan(da[i]) && std::isnan(db[i]));
        CHECK(same, "%s decode differs (seed %d, yx %d)", level.c_str(), seed, yx);
      }

      const size_t nb = 3 + seed * 5;
      auto boxes = random_boxes(rng, nb, 300.f, 80.f);
      if (seed % 7 == 2) boxes[0] = NAN, boxes[5] = INFINITY, boxes[10] = boxes[8];  // non-finite and zero width
      std::vector<float> scores(nb);
      std::uniform_int_distribution<int> q(0, 20);
      for (auto& s : scores) s = q(rng) / 20.f;  // many ties
      std::vector<float> ia(nb * nb), ib(nb * nb);
      ssd::set_level("scalar");
      ssd::box_iou(boxes.data(), nb, boxes.data(), nb, ia.data());
      const auto ka = ssd::nms(boxes.data(), scores.data(), nb, 0.3 + 0.01 * (seed % 40), -INFINITY, -1, -1);
      ssd::set_level(level);
      ssd::box_iou(boxes.data(), nb, boxes.data(), nb, ib.data());
      const auto kb = ssd::nms(boxes.data(), scores.data(), nb, 0.3 + 0.01 * (seed % 40), -INFINITY, -1, -1);
      CHECK(same_bits(ia, ib), "%s IoU differs (seed %d)", level.c_str(), seed);
      CHECK(ka == kb, "%s NMS differs (seed %d)", level.c_str(), seed);
    }
    std::printf("variant %s: checked against scalar\n", level.c_str());
  }
  ssd::set_level("auto");
}

// The grid index used for large inputs decides exactly as the linear scan.
void test_grid() {
  std::mt19937 rng(99);
  for (int seed = 0; seed < 6; ++seed) {
    rng.seed(seed);
    const size_t n = 3000 + 2000 * seed;
    auto boxes = random_boxes(rng, n, seed % 2 ? 3000.f : 300.f, seed == 4 ? 900.f : 40.f);
    if (seed == 5) boxes[7] = NAN;
    std::vector<int32_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>((i * 7919) % n);
    for (double thr : {0.0, 0.3, 0.7}) {
      std::vector<int32_t> a, b;
      ssd::NmsWorkspace ws;
      ssd::greedy_nms_linear(boxes.data(), order.data(), n, thr, n, a, ws);
      ssd::greedy_nms_grid(boxes.data(), order.data(), n, thr, n, b);
      CHECK(a == b, "grid differs from linear (seed %d, thr %g): %zu vs %zu kept", seed, thr, a.size(), b.size());
    }
  }
  // Inverted boxes (x2 < x1) only: the grid must size itself from both corners (regression: crashed).
  {
    std::vector<float> inv(4 * 20000);
    for (size_t i = 0; i < 20000; ++i)
      inv[4 * i] = 10.f + i % 7, inv[4 * i + 1] = 0, inv[4 * i + 2] = 8.5f, inv[4 * i + 3] = 1;
    std::vector<float> sc(20000, 0.5f);
    CHECK(ssd::nms(inv.data(), sc.data(), sc.size(), 0.5, -INFINITY, -1, -1).size() == 20000,
          "inverted boxes overlap nothing");
    std::vector<int32_t> idx;
    std::vector<float> out;
    ssd::soft_nms(inv.data(), sc.data(), 1, 0.5f, -1, 0.001f, -1, idx, out);
    CHECK(idx.size() == 1, "soft-NMS of one inverted box");
    const float flat[] = {10, 0, 0, 1};
    idx.clear(), out.clear();
    ssd::soft_nms(flat, sc.data(), 1, 0.5f, -1, 0.001f, -1, idx, out);
    CHECK(idx.size() == 1, "soft-NMS of one zero-height inverted box");
  }
  // 10^6 small disjoint-ish boxes: all decided in near-linear time (this would be ~10^11 IoUs linearly).
  std::vector<float> big = random_boxes(rng, 1000000, 100000.f, 20.f);
  std::vector<float> scores(1000000);
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = static_cast<float>(i % 1000) / 1000.f;
  const auto keep = ssd::nms(big.data(), scores.data(), scores.size(), 0.5, -INFINITY, -1, -1);
  CHECK(keep.size() > 900000, "10^6 boxes: %zu kept", keep.size());
  // The tree's memory is a small constant per box (nodes, leaf entries, leaf map), every box inserted.
  std::vector<int32_t> order(big.size() / 4);
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  ssd::BoxTree tree(big.data(), order.data(), order.size(), 0.0);
  for (size_t i = 0; i < order.size(); ++i) tree.insert(i);
  CHECK(tree.memory_bytes() < 64 * order.size(), "BoxTree: %zu bytes for %zu boxes", tree.memory_bytes(), order.size());
}

// Box layouts that made the old grid (cells from span/median, a list of large boxes scanned by every query)
// quadratic or that stress the size classes: huge boxes, coordinates near ±3e38, NaN/Inf, tiny and subnormal
// areas, all sizes mixed, thin stacked boxes, duplicates; and the ones that stress a bounding-box tree: dense
// overlap (many candidates per query at high thresholds), crossing bars with aspect ratios up to 10^6, far-apart
// clusters of nested sizes, staggered sticks whose bounding rectangles cover queries they do not touch. Each
// generator fills n boxes.
constexpr int kLayouts = 14;
std::vector<float> adversarial_layout(int kind, size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> b(4 * n);
  for (size_t i = 0; i < n; ++i) {
    float* p = &b[4 * i];
    const float x = u(rng), y = u(rng);
    auto set = [&](float a, float c, float d, float e) { p[0] = a, p[1] = c, p[2] = d, p[3] = e; };
    switch (kind) {
      case 0:  // small boxes + one [0,0,1e30,1e30] (first and last)
        if (i == 0 || i == n - 1)
          set(0, 0, 1e30f, 1e30f);
        else
          set(x * 300, y * 300, x * 300 + 1 + 8 * u(rng), y * 300 + 1 + 8 * u(rng));
        break;
      case 1:  // small boxes + corners near ±3e38 and a box spanning them (width overflows to inf)
        if (i % 1000 == 1)
          set(-3e38f, -3e38f, -2.9e38f, -2.9e38f);
        else if (i % 1000 == 2)
          set(2.9e38f, 2.9e38f, 3e38f, 3e38f);
        else if (i % 1000 == 3)
          set(-3e38f, -3e38f, 3e38f, 3e38f);
        else
          set(x * 300, y * 300, x * 300 + 1 + 8 * u(rng), y * 300 + 1 + 8 * u(rng));
        break;
      case 2: {  // NaN / ±Inf / inverted / zero-area mixed in
        const float r = u(rng);
        if (r < 0.05f)
          set(NAN, y, x + 1, y + 1);
        else if (r < 0.1f)
          set(-INFINITY, -INFINITY, INFINITY, INFINITY);
        else if (r < 0.15f)
          set(x * 300 + 5, y * 300, x * 300, y * 300 + 5);  // inverted
        else if (r < 0.2f)
          set(x * 300, y * 300, x * 300, y * 300 + 5);  // zero width
        else
          set(x * 300, y * 300, x * 300 + 1 + 8 * u(rng), y * 300 + 1 + 8 * u(rng));
        break;
      }
      case 3: {  // every size from 1e-3 to 1e3 over a wide span, heavy overlap among similar sizes
        const float w = std::pow(10.f, u(rng) * 6 - 3), h = std::pow(10.f, u(rng) * 6 - 3);
        set(x * 2000, y * 2000, x * 2000 + w, y * 2000 + h);
        break;
      }
      case 4: {  // tiny boxes (areas ~1e-40 and below: subnormal float32 products) overlapping each other
        const float s = 1e-20f * (1 + 3 * u(rng));
        const float t = (i % 3 == 0) ? 1e-44f * (1 + 8 * u(rng)) : s;  // some subnormal heights
        set(x * 1e-19f, y * 1e-19f, x * 1e-19f + s, y * 1e-19f + t);
        break;
      }
      case 5:  // thin boxes stacked (w ≫ h) and tall ones, crossing
        if (i % 2)
          set(x * 50, y * 50, x * 50 + 40, y * 50 + 0.01f + 0.05f * u(rng));
        else
          set(x * 50, y * 50, x * 50 + 0.01f + 0.05f * u(rng), y * 50 + 40);
        break;
      case 6:  // few distinct boxes, many duplicates, nested sizes around one centre
        if (i % 2)
          set(10, 10, 20, 20);
        else {
          const float s = 1 + 20 * u(rng);
          set(100 - s, 100 - s, 100 + s, 100 + s);
        }
        break;
      case 7: {  // huge coordinates with huge boxes that still have finite areas
        const float s = 1e18f * (1 + u(rng));
        set(x * 3e19f - 1.5e19f, y * 3e19f - 1.5e19f, x * 3e19f - 1.5e19f + s, y * 3e19f - 1.5e19f + s);
        break;
      }
      case 8:  // one box per binade pair [2^e, 2^f, 2^(e+1), 2^(f+1)] nested around the origin + small boxes
        if (i % 3 == 0) {
          const int e = static_cast<int>(u(rng) * 61) - 30, f = static_cast<int>(u(rng) * 61) - 30;
          set(std::ldexp(1.f, e), std::ldexp(1.f, f), std::ldexp(1.f, e + 1), std::ldexp(1.f, f + 1));
        } else {
          set(x * 100, y * 100, x * 100 + 0.5f, y * 100 + 0.5f);
        }
        break;
      case 10:  // dense: sides 1–9 in a 30 × 30 square, every box overlaps dozens
        set(x * 30, y * 30, x * 30 + 1 + 8 * u(rng), y * 30 + 1 + 8 * u(rng));
        break;
      case 11: {  // crossing bars: 1e-3 × 1e3 and 1e3 × 1e-3 (aspect up to 10^6) over 1e4 × 1e4
        const float a = 1e-3f * (1 + u(rng)), l = 1e3f * (1 + u(rng));
        if (i % 2)
          set(x * 1e4f, y * 1e4f, x * 1e4f + a, y * 1e4f + l);
        else
          set(x * 1e4f, y * 1e4f, x * 1e4f + l, y * 1e4f + a);
        break;
      }
      case 12: {  // 16 clusters 1e30 apart, each with nested squares of sides 1e-6..1e6 around its centre
        const float cx = static_cast<float>(i % 4) * 1e30f, cy = static_cast<float>((i / 4) % 4) * 1e30f;
        const float s = std::pow(10.f, u(rng) * 12 - 6);
        set(cx - s, cy - s * (0.5f + u(rng)), cx + s, cy + s);
        break;
      }
      case 13: {  // staggered sticks (width 0.1, height 10, in a 100 × 100 square) and thin rails between them
        if (i % 2)
          set(x * 100, y * 100, x * 100 + 0.1f, y * 100 + 10);
        else
          set(x * 100, std::floor(y * 100) + 0.25f, x * 100 + 20, std::floor(y * 100) + 0.5f);
        break;
      }
      default: {  // power-of-two sizes 2^-3..2^5 on a lattice: many boxes share edges (zero-area contact)
        const float w = std::ldexp(1.f, static_cast<int>(u(rng) * 9) - 3);
        const float h = i % 4 ? w : std::ldexp(1.f, static_cast<int>(u(rng) * 9) - 3);
        const float x0 = std::floor(x * 64) * 0.5f, y0 = std::floor(y * 64) * 0.5f;
        set(x0, y0, x0 + w, y0 + h);
        break;
      }
    }
  }
  return b;
}

// The size-class grid decides exactly as the linear scan on adversarial layouts, at every threshold.
void test_grid_adversarial() {
  std::mt19937 rng(2024);
  for (int kind = 0; kind < kLayouts; ++kind) {
    const size_t n = 2500;
    const auto boxes = adversarial_layout(kind, n, rng);
    std::vector<int32_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>((i * 7919 + kind) % n);
    for (double thr : {0.0, 1e-300, 1e-30, 1e-6, 0.001, 0.01, 0.02, 0.04, 0.1, 0.13, 0.3, 0.5, 0.7, 0.95, 1.0, 1.5}) {
      std::vector<int32_t> a, b;
      ssd::NmsWorkspace ws;
      ssd::greedy_nms_linear(boxes.data(), order.data(), n, thr, n, a, ws);
      ssd::greedy_nms_grid(boxes.data(), order.data(), n, thr, n, b);
      CHECK(a == b, "grid differs from linear (layout %d, thr %g): %zu vs %zu kept", kind, thr, a.size(), b.size());
    }
  }
  // Through nms() (tree path from 16384 candidates on) at thresholds 0, 0.01 and 0.5: the binade nest, the lattice,
  // mixed sizes, stacked and crossing bars, dense overlap, far-apart nested clusters, staggered sticks.
  for (int kind : {8, 9, 3, 5, 10, 11, 12, 13}) {
    const size_t n = 17000;
    const auto boxes = adversarial_layout(kind, n, rng);
    std::vector<float> scores(n);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    for (size_t i = 0; i < n; ++i) scores[i] = kind == 8 && i % 3 == 0 ? 2.f : u(rng);
    std::vector<int32_t> order;
    ssd::sorted_indices_above(scores.data(), n, -INFINITY, order);
    for (double thr : {0.0, 0.01, 0.5}) {
      std::vector<int32_t> a;
      ssd::NmsWorkspace ws;
      ssd::greedy_nms_linear(boxes.data(), order.data(), n, thr, n, a, ws);
      CHECK(a == ssd::nms(boxes.data(), scores.data(), n, thr, -INFINITY, -1, -1), "nms (tree) on layout %d at %g",
            kind, thr);
    }
  }
  // Through nms() (grid path, ≥ 16384 candidates): 20 000 small boxes + one huge box, scored first and last.
  for (int kind : {0, 1, 2}) {
    const size_t n = 20000;
    const auto boxes = adversarial_layout(kind, n, rng);
    std::vector<float> scores(n);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    for (auto& s : scores) s = u(rng);
    scores[0] = 2, scores[n - 1] = -1;
    std::vector<int32_t> order;
    ssd::sorted_indices_above(scores.data(), n, -INFINITY, order);
    std::vector<int32_t> a;
    ssd::NmsWorkspace ws;
    ssd::greedy_nms_linear(boxes.data(), order.data(), n, 0.5, n, a, ws);
    CHECK(a == ssd::nms(boxes.data(), scores.data(), n, 0.5, -INFINITY, -1, -1), "nms (grid) on layout %d", kind);
  }
}

// Pairs at the edge of the tree's query core: a box nested in the other along one axis, same extent along the other,
// and a width of t·w (IoU ≈ t, the case where "IoU > t needs an overlap wider than t·w" is tight), jittered by ulps,
// over scales 1e-40…1e40 and offsets up to 1e5 of the size: the tree keeps exactly what the linear scan keeps.
void test_grid_core_edge() {
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> u(0, 1);
  size_t above = 0, mismatches = 0;
  const double ts[] = {1e-7, 0.01, 0.3, 0.45, 0.5, 0.5000001, 0.7, 0.99, 1.0};
  for (int it = 0; it < 300000; ++it) {
    const double t = ts[it % 9];
    const double scale = std::pow(10.0, u(g) * 80 - 40);
    const double off = (u(g) < 0.3 ? 0 : std::pow(10.0, u(g) * 10 - 5)) * scale * (u(g) < 0.5 ? -1 : 1);
    float q[4] = {static_cast<float>(off), static_cast<float>(off * 0.7), 0, 0}, k[4];
    q[2] = static_cast<float>(off + scale * (0.1 + u(g))), q[3] = static_cast<float>(off * 0.7 + scale * (0.1 + u(g)));
    const double w = static_cast<double>(q[2] - q[0]) * t * (1 + 1e-6 * (u(g) - 0.5));
    k[1] = q[1], k[3] = q[3];
    if (u(g) < 0.5)
      k[0] = q[0], k[2] = static_cast<float>(q[0] + w);
    else
      k[2] = q[2], k[0] = static_cast<float>(q[2] - w);
    for (float& c : k)
      for (int j = static_cast<int>(u(g) * 7) - 3; j != 0; j += j > 0 ? -1 : 1)
        c = std::nextafter(c, j > 0 ? INFINITY : -INFINITY);
    if (u(g) < 0.5) std::swap(k[0], k[1]), std::swap(k[2], k[3]), std::swap(q[0], q[1]), std::swap(q[2], q[3]);
    const float boxes[8] = {k[0], k[1], k[2], k[3], q[0], q[1], q[2], q[3]};
    const int32_t order[2] = {0, 1};
    std::vector<int32_t> a, b;
    ssd::NmsWorkspace ws;
    ssd::greedy_nms_linear(boxes, order, 2, t, 2, a, ws);
    ssd::greedy_nms_grid(boxes, order, 2, t, 2, b);
    if (ssd::finite_box(k) && ssd::finite_box(q) && ssd::iou_scalar(k, ssd::box_area(k), q, ssd::box_area(q)) > t)
      ++above;
    mismatches += a != b;
  }
  CHECK(mismatches == 0, "tree and scan differ at the query core's edge in %zu of 300000 pairs", mismatches);
  CHECK(above > 10000 && above < 290000, "core-edge pairs straddle the threshold (%zu above)", above);
}

// nms() and batched_nms() with the grid forced from one candidate on (set_grid_min_boxes_for_testing) decide as
// with the default cut-over (linear below 16384 candidates per class), at thresholds incl. 0, tiny, inf and NaN.
void test_grid_forced() {
  std::mt19937 rng(77);
  for (int kind = 0; kind < kLayouts; ++kind) {
    const size_t n = 2000;
    const auto boxes = adversarial_layout(kind, n, rng);
    std::vector<float> scores(n);
    std::vector<int32_t> cls(n);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    for (size_t i = 0; i < n; ++i) scores[i] = u(rng), cls[i] = static_cast<int32_t>(i % 3);
    for (double thr : {0.0, 1e-300, 0.01, 0.5, static_cast<double>(INFINITY), static_cast<double>(NAN)}) {
      const auto a = ssd::nms(boxes.data(), scores.data(), n, thr, -INFINITY, -1, -1);
      const auto ab = ssd::batched_nms(boxes.data(), scores.data(), cls.data(), n, thr, -INFINITY, -1);
      ssd::set_grid_min_boxes_for_testing(1, 1);
      const auto b = ssd::nms(boxes.data(), scores.data(), n, thr, -INFINITY, -1, -1);
      const auto bb = ssd::batched_nms(boxes.data(), scores.data(), cls.data(), n, thr, -INFINITY, -1);
      ssd::set_grid_min_boxes_for_testing(0, 0);
      CHECK(a == b && ab == bb, "forced grid differs (layout %d, thr %g)", kind, thr);
    }
  }
}

// Soft-NMS (heap + grid) against the plain O(n²) loop written here.
void reference_soft_nms(const std::vector<float>& boxes, const std::vector<float>& scores, float sigma, double iou_thr,
                        float thr, std::vector<int32_t>& idx, std::vector<float>& out) {
  const size_t n = scores.size();
  std::vector<float> cur(scores);
  std::vector<int32_t> alive;
  for (size_t i = 0; i < n; ++i)
    if (scores[i] > thr) alive.push_back(static_cast<int32_t>(i));
  while (!alive.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < alive.size(); ++i)
      if (cur[alive[i]] > cur[alive[best]] || (cur[alive[i]] == cur[alive[best]] && alive[i] < alive[best])) best = i;
    const int32_t m = alive[best];
    idx.push_back(m), out.push_back(cur[m]);
    alive.erase(alive.begin() + best);
    std::vector<int32_t> next;
    for (int32_t j : alive) {
      const float* a = &boxes[4 * m];
      const float* b = &boxes[4 * j];
      const float iou = ssd::iou_scalar(a, ssd::box_area(a), b, ssd::box_area(b));
      if (iou_thr < 0 || iou > iou_thr) cur[j] *= ssd::expf_sleef(-(iou * iou) / sigma);
      if (cur[j] > thr) next.push_back(j);
    }
    alive.swap(next);
  }
}

void test_soft_nms() {
  std::mt19937 rng(7);
  for (int seed = 0; seed < 20; ++seed) {
    rng.seed(seed);
    const size_t n = 5 + seed * 40;
    auto boxes = random_boxes(rng, n, seed % 3 ? 300.f : 1000.f, 80.f);
    std::vector<float> scores(n);
    std::uniform_int_distribution<int> q(0, 50);
    for (auto& s : scores) s = q(rng) / 50.f;
    for (double iou_thr : {-1.0, 0.3}) {
      std::vector<int32_t> ia, ib;
      std::vector<float> sa, sb;
      reference_soft_nms(boxes, scores, 0.5f, iou_thr, 0.001f, ia, sa);
      ssd::soft_nms(boxes.data(), scores.data(), n, 0.5f, iou_thr, 0.001f, -1, ib, sb);
      CHECK(ia == ib && same_bits(sa, sb), "soft-NMS differs from the O(n²) loop (seed %d, iou %g)", seed, iou_thr);
    }
  }
  // Negative scores rise as they decay (towards 0): the heap must move them up, not only down.
  for (int seed = 0; seed < 6; ++seed) {
    rng.seed(100 + seed);
    const size_t n = seed % 2 ? 60 : 700;  // below and above the tree's cut-over
    auto boxes = random_boxes(rng, n, 300.f, 80.f);
    std::vector<float> scores(n);
    std::uniform_real_distribution<float> u(-1.f, seed < 4 ? 0.f : 1.f);
    for (auto& s : scores) s = u(rng);
    for (double iou_thr : {-1.0, 0.3}) {
      std::vector<int32_t> ia, ib;
      std::vector<float> sa, sb;
      reference_soft_nms(boxes, scores, 0.5f, iou_thr, -0.95f, ia, sa);
      ssd::soft_nms(boxes.data(), scores.data(), n, 0.5f, iou_thr, -0.95f, -1, ib, sb);
      CHECK(ia == ib && same_bits(sa, sb), "soft-NMS with negative scores differs (seed %d, iou %g)", seed, iou_thr);
    }
  }
  // Adversarial layouts (see adversarial_layout).
  for (int kind = 0; kind < kLayouts; ++kind) {
    rng.seed(kind);
    const size_t n = 400;
    auto boxes = adversarial_layout(kind, n, rng);
    std::vector<float> scores(n);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    for (auto& s : scores) s = u(rng);
    for (double iou_thr : {-1.0, 0.0, 0.5}) {
      std::vector<int32_t> ia, ib;
      std::vector<float> sa, sb;
      reference_soft_nms(boxes, scores, 0.5f, iou_thr, 0.001f, ia, sa);
      ssd::soft_nms(boxes.data(), scores.data(), n, 0.5f, iou_thr, 0.001f, -1, ib, sb);
      CHECK(ia == ib && same_bits(sa, sb), "soft-NMS differs from the O(n²) loop (layout %d, iou %g)", kind, iou_thr);
    }
  }
  // The grid strategy (soft_nms picks it above 512 candidates) forced on every layout, at the thresholds that make
  // the grid walk its occupancy tree (≤ ~0.03, decay-all included) and above: the same picks and score bits as the
  // O(n²) loop, and as the scan strategy on larger inputs.
  for (int kind = 0; kind < kLayouts; ++kind) {
    rng.seed(100 + kind);
    for (size_t n : {size_t{700}, size_t{3000}}) {
      auto boxes = adversarial_layout(kind, n, rng);
      std::vector<float> scores(n);
      std::uniform_real_distribution<float> u(0.f, 1.f);
      for (auto& s : scores) s = u(rng);
      for (double iou_thr : {-1.0, 0.0, 1e-3, 0.02, 0.5}) {
        std::vector<int32_t> ia, ib;
        std::vector<float> sa, sb;
        if (n <= 700)
          reference_soft_nms(boxes, scores, 0.5f, iou_thr, 0.001f, ia, sa);
        else
          ssd::soft_nms_with(false, boxes.data(), scores.data(), n, 0.5f, iou_thr, 0.001f, -1, ia, sa);
        ssd::soft_nms_with(true, boxes.data(), scores.data(), n, 0.5f, iou_thr, 0.001f, -1, ib, sb);
        CHECK(ia == ib && same_bits(sa, sb), "soft-NMS grid differs (layout %d, n %zu, iou %g)", kind, n, iou_thr);
      }
    }
  }
  // 2·10^5 sparse boxes finish quickly.
  auto big = random_boxes(rng, 200000, 100000.f, 20.f);
  std::vector<float> scores(200000, 0.5f);
  std::vector<int32_t> idx;
  std::vector<float> sc;
  ssd::soft_nms(big.data(), scores.data(), scores.size(), 0.5f, -1, 0.001f, -1, idx, sc);
  CHECK(idx.size() == scores.size(), "sparse soft-NMS keeps every box: %zu", idx.size());
}

// The early-stopping merged NMS (detections ≤ 16384) keeps exactly the first `detections` of the full per-class
// NMS followed by the final sort (detections = all).
void test_postprocess_merged() {
  std::mt19937 rng(5);
  for (int seed = 0; seed < 40; ++seed) {
    rng.seed(seed);
    const size_t n = 50 + seed * 37, C = 1 + seed % 12;
    std::normal_distribution<float> nd(0.f, seed % 3 ? 2.f : 0.05f);
    std::uniform_real_distribution<float> u(0.05f, 0.9f);
    std::vector<float> logits(n * C), reg(4 * n), anchors(4 * n);
    for (auto& v : logits) v = nd(rng);
    for (auto& v : reg) v = nd(rng) * 0.3f;
    for (size_t i = 0; i < n; ++i)
      anchors[4 * i] = u(rng), anchors[4 * i + 1] = u(rng), anchors[4 * i + 2] = u(rng) * 0.4f,
                  anchors[4 * i + 3] = u(rng) * 0.4f;
    if (seed % 5 == 4) reg[8] = NAN;
    ssd::PostprocessParams p;
    p.scoring = seed % 2 ? ssd::Scoring::Softmax : ssd::Scoring::Sigmoid;
    p.background = C > 1 ? 0 : -1;
    p.score_thresh = 0.01f;
    p.nms_thresh = 0.3 + 0.05 * (seed % 8);
    p.topk = 5 + seed * 3;
    ssd::PostprocessWorkspace ws;
    ssd::Detections all, some;
    p.detections = -1;
    ssd::postprocess(reg.data(), logits.data(), anchors.data(), n, C, 100.f, 200.f, p, all, ws);
    p.detections = static_cast<int64_t>(1 + seed % 17);
    ssd::postprocess(reg.data(), logits.data(), anchors.data(), n, C, 100.f, 200.f, p, some, ws);
    const size_t m = std::min(all.scores.size(), static_cast<size_t>(p.detections));
    bool same = some.scores.size() == m;
    for (size_t i = 0; same && i < m; ++i) {
      same = some.scores[i] == all.scores[i] && some.labels[i] == all.labels[i];
      for (int k = 0; same && k < 4; ++k)
        same = some.boxes[4 * i + k] == all.boxes[4 * i + k] ||
               (std::isnan(some.boxes[4 * i + k]) && std::isnan(all.boxes[4 * i + k]));
    }
    CHECK(same, "merged NMS differs from full NMS + cut (seed %d: %zu vs %zu)", seed, some.scores.size(), m);
  }
}

// Matcher: a hand-made case, and every variant against a brute-force reference on the full IoU matrix.
std::vector<int32_t> reference_match(const std::vector<float>& gt, const std::vector<float>& anchors, float thr,
                                     bool low) {
  const size_t m = gt.size() / 4, n = anchors.size() / 4;
  std::vector<float> iou(m * n);
  ssd::box_iou(gt.data(), m, anchors.data(), n, iou.data());
  std::vector<int32_t> out(n, -1);
  if (m == 0) return out;
  for (size_t i = 0; i < n; ++i) {
    size_t best = 0;
    for (size_t j = 1; j < m; ++j)
      if (iou[j * n + i] > iou[best * n + i]) best = j;
    if (iou[best * n + i] >= thr) out[i] = static_cast<int32_t>(best);
  }
  if (low && n > 0)
    for (size_t j = 0; j < m; ++j)
      out[std::max_element(iou.begin() + j * n, iou.begin() + (j + 1) * n) - (iou.begin() + j * n)] =
          static_cast<int32_t>(j);
  return out;
}

void test_matcher_and_loss() {
  const float gt[] = {0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 10, 10, 100, 100, 101, 101};
  const float an[] = {0, 0, 10, 10, 0, 0, 10, 20, 20, 20, 30, 30, 22, 20, 32, 30, 50, 50, 60, 60, 100, 100, 110, 110};
  std::vector<int32_t> out(6);
  ssd::match_anchors(gt, 4, an, 6, false, 0.5f, true, out.data());
  CHECK((out == std::vector<int32_t>{2, 0, 1, 1, -1, 3}), "hand-made match: %d %d %d %d %d %d", out[0], out[1], out[2],
        out[3], out[4], out[5]);
  ssd::match_anchors(gt, 4, an, 6, false, 0.5f, false, out.data());
  CHECK((out == std::vector<int32_t>{0, 0, 1, 1, -1, -1}), "hand-made match without forcing");
  ssd::match_anchors(gt, 0, an, 6, false, 0.5f, true, out.data());
  CHECK((out == std::vector<int32_t>(6, -1)), "no gt → all -1");
  float cx[24];
  for (int i = 0; i < 6; ++i) {
    const float* b = an + 4 * i;
    cx[4 * i] = 0.5f * (b[0] + b[2]), cx[4 * i + 1] = 0.5f * (b[1] + b[3]), cx[4 * i + 2] = b[2] - b[0],
           cx[4 * i + 3] = b[3] - b[1];
  }
  ssd::match_anchors(gt, 4, cx, 6, true, 0.5f, true, out.data());
  CHECK((out == std::vector<int32_t>{2, 0, 1, 1, -1, 3}), "cxcywh anchors");

  std::mt19937 rng(99);
  for (const std::string& level : ssd::supported_levels()) {
    ssd::set_level(level);
    for (int seed = 0; seed < 80; ++seed) {
      rng.seed(seed);
      auto anchors = random_boxes(rng, 1 + seed * 3, seed % 2 ? 100.f : 300.f, 60.f);
      auto gtb = random_boxes(rng, seed % 9, seed % 2 ? 100.f : 300.f, 90.f);
      if (seed % 3 == 0)
        for (auto& v : anchors) v = std::round(v);                                                // exact IoU ties
      if (seed % 4 == 1 && gtb.size() >= 8) gtb.insert(gtb.end(), gtb.begin(), gtb.begin() + 8);  // shared best anchors
      if (seed % 7 == 2) anchors[1] = NAN, anchors[6] = INFINITY;
      const float thr = 0.1f * static_cast<float>(seed % 11);
      for (bool low : {true, false}) {
        std::vector<int32_t> got(anchors.size() / 4);
        ssd::match_anchors(gtb.data(), gtb.size() / 4, anchors.data(), anchors.size() / 4, false, thr, low, got.data());
        CHECK(got == reference_match(gtb, anchors, thr, low), "%s matcher differs from the reference (seed %d, low %d)",
              level.c_str(), seed, low);
      }
    }
  }
  ssd::set_level("auto");

  // Hard negatives: equal losses → lower index, NaN first, capped, none without positives.
  const float loss[] = {0.1f, 2, 0.5f, 3, 0.7f, 2};
  const uint8_t pos[] = {0, 0, 0, 1, 0, 0};
  CHECK((ssd::hard_negatives(loss, pos, 6, 1.0) == std::vector<int32_t>{1}), "tie → lower index");
  CHECK((ssd::hard_negatives(loss, pos, 6, 2.0) == std::vector<int32_t>{1, 5}), "k = 2");
  CHECK((ssd::hard_negatives(loss, pos, 6, 1.5) == std::vector<int32_t>{1, 5}), "k = ceil(1.5)");
  CHECK((ssd::hard_negatives(loss, pos, 6, INFINITY) == std::vector<int32_t>{0, 1, 2, 4, 5}), "k capped");
  const uint8_t none[6] = {};
  CHECK(ssd::hard_negatives(loss, none, 6, 3.0).empty(), "no positive → no negative");
  const float nan_loss[] = {1, NAN, 5, 0};
  const uint8_t pos4[] = {0, 0, 0, 1};
  CHECK((ssd::hard_negatives(nan_loss, pos4, 4, 1.0) == std::vector<int32_t>{1}), "NaN ranks first");

  // Cross-entropy and the per-image parts on a tiny image.
  const float logits[] = {1, 2, 3, 0, 0, 0};
  const int32_t targets[] = {2, 0};
  float ce[2];
  ssd::softmax_cross_entropy(logits, targets, 2, 3, ce);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  CHECK(std::fabs(ce[0] - (lse - 3)) < 1e-6 && std::fabs(ce[1] - std::log(3.0)) < 1e-6, "cross-entropy %g %g", ce[0],
        ce[1]);
  const int32_t bad[] = {3};
  bool threw = false;
  try {
    ssd::softmax_cross_entropy(logits, bad, 1, 3, ce);
  } catch (const ssd::InvalidArgument&) {
    threw = true;
  }
  CHECK(threw, "target outside [0, c) throws");
  const float anchors3[] = {0, 0, 10, 10, 20, 20, 30, 30, 40, 40, 50, 50};
  const float reg[12] = {0.5f, -2, 0, 0};
  const float logits3[] = {2, 0, 0, 0, 1, 0, 0, 0, 3};
  const float gt2[] = {0, 0, 10, 10, 40, 40, 50, 50};
  const int32_t labels[] = {0, 2};
  const ssd::LossImage img{logits3, reg, anchors3, false, 3, 3, gt2, labels, 2};
  const ssd::LossParts r = ssd::ssd_loss_parts(img, ssd::LossParams{});
  CHECK((r.matched == std::vector<int32_t>{0, -1, 1}) && (r.foreground == std::vector<int32_t>{0, 2}),
        "parts: matches");
  CHECK(r.num_positive == 1 && (r.hard_negatives == std::vector<int32_t>{0, 1}),
        "parts: a label-0 match is no positive and may be mined");
  CHECK(r.smooth_l1_sum == 0.125 + 1.5 && r.encoded.size() == 8, "parts: smooth-L1 %g", r.smooth_l1_sum);
}

// Augmentation pixels on hand-made cases: the identity plan, an exact mirror, the fill outside the image, a hue turn
// of pure red, and the plan validation.
void test_augment() {
  const int w = 5, h = 3;
  std::vector<uint8_t> src(w * h * 3), out(w * h * 3);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 17);
  ssd::AugmentParams p;
  p.crop_w = w, p.crop_h = h;
  ssd::augment_pixels(src.data(), w, h, p, out.data(), w, h);
  CHECK(out == src, "identity plan returns the image");
  p.flip = true;
  ssd::augment_pixels(src.data(), w, h, p, out.data(), w, h);
  bool mirrored = true;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < 3; ++k) mirrored &= out[(y * w + x) * 3 + k] == src[(y * w + (w - 1 - x)) * 3 + k];
  CHECK(mirrored, "flip mirrors exactly");
  p.flip = false, p.left = 2, p.top = 1, p.crop_w = w + 2, p.crop_h = h + 1;
  std::vector<uint8_t> big((w + 2) * (h + 1) * 3);
  ssd::augment_pixels(src.data(), w, h, p, big.data(), w + 2, h + 1);
  CHECK(big[0] == 123 && big[1] == 117 && big[2] == 104, "fill left of and above the image");
  CHECK(std::memcmp(&big[((w + 2) * 1 + 2) * 3], src.data(), 3) == 0, "image placed at (left, top)");
  const uint8_t red[3] = {255, 0, 0};
  float hsv_out[3];
  ssd::AugmentParams q;
  q.hue = 120.f;
  ssd::photometric_pixel(red, q, hsv_out);
  CHECK(hsv_out[0] == 0.f && hsv_out[1] == 255.f && hsv_out[2] == 0.f, "hue +120: red to green (%g %g %g)", hsv_out[0],
        hsv_out[1], hsv_out[2]);
  double v[ssd::kAugmentParamCount] = {0, 1, 1, 1, 0, 0, 1, 2, 0, 0, 0, 0, 5, 3, 0, 123, 117, 104};
  const auto rejects = [&](size_t i, double x) {
    double c[ssd::kAugmentParamCount];
    std::memcpy(c, v, sizeof v);
    c[i] = x;
    try {
      ssd::params_from_vector(c);
    } catch (const ssd::InvalidArgument&) {
      return true;
    }
    return false;
  };
  CHECK(!rejects(0, 10), "a valid plan passes");
  // Every SIMD level's photometric kernel equals the scalar one bit for bit (random params, every 0..255 grey, pure
  // and tied colours, a subnormal contrast).
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int trial = 0; trial < 200; ++trial) {
    ssd::AugmentParams q2;
    q2.brightness = u(rng) < 0.5f ? 64.f * u(rng) - 32.f : 0.f;
    q2.contrast = trial == 3 ? 1e-40f : (u(rng) < 0.5f ? 0.5f + u(rng) : 1.f);
    q2.contrast_first = u(rng) < 0.5f;
    q2.saturation = u(rng) < 0.7f ? 0.5f + u(rng) : 1.f;
    q2.hue = u(rng) < 0.7f ? 36.f * u(rng) - 18.f : 0.f;
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    const int* pm = perms[trial % 6];
    q2.swap[0] = pm[0], q2.swap[1] = pm[1], q2.swap[2] = pm[2];
    const size_t n = 256 + 7;  // a tail that is not a multiple of 8
    std::vector<float> r(n), g(n), b(n);
    for (size_t i = 0; i < n; ++i) {
      const int k = static_cast<int>(i % 8);
      r[i] = static_cast<float>(rng() % 256), g[i] = static_cast<float>(rng() % 256),
      b[i] = static_cast<float>(rng() % 256);
      if (k == 0) g[i] = b[i] = r[i];           // grey
      if (k == 1) g[i] = r[i];                  // max tie r = g
      if (k == 2) r[i] = 255, g[i] = b[i] = 0;  // pure red
      if (k == 3) r[i] = g[i] = b[i] = 0;       // black
    }
    std::vector<float> rs = r, gs = g, bs = b;
    ssd::set_level("scalar");
    ssd::photometric_planar_kernel()(rs.data(), gs.data(), bs.data(), n, q2);
    for (const auto& level : ssd::supported_levels()) {
      std::vector<float> rv = r, gv = g, bv = b;
      ssd::set_level(level);
      ssd::photometric_planar_kernel()(rv.data(), gv.data(), bv.data(), n, q2);
      CHECK(same_bits(rv, rs) && same_bits(gv, gs) && same_bits(bv, bs), "%s photometric differs (trial %d)",
            level.c_str(), trial);
    }
  }
  ssd::set_level("auto");
  CHECK(rejects(0, NAN) && rejects(4, 361) && rejects(6, 0) && rejects(12, 0) && rejects(8, 0.5) && rejects(17, 256),
        "bad plans are rejected");
}

}  // namespace

int main() {
  std::printf("compiled:");
  for (const auto& l : ssd::compiled_levels()) std::printf(" %s", l.c_str());
  std::printf("; supported:");
  for (const auto& l : ssd::supported_levels()) std::printf(" %s", l.c_str());
  std::printf("\n");
  test_semantics();
  test_variants();
  test_grid();
  test_grid_adversarial();
  test_grid_forced();
  test_grid_core_edge();
  test_soft_nms();
  test_postprocess_merged();
  test_matcher_and_loss();
  test_augment();
  std::printf(failures ? "%d FAILED\n" : "all passed\n", failures);
  return failures;
}
