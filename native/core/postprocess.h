// The whole SSD postprocess for one image (torchvision SSD.postprocess_detections semantics):
// scores → per-class threshold + top-k → decode → clip → per-class NMS → top N over all classes → rescale.
#pragma once
#include <functional>
#include <vector>
#include "nms.h"
#include "sort.h"
#include "types.h"

namespace ssd {

enum class Scoring { Softmax, Sigmoid, Identity };

struct PostprocessParams {
  Scoring scoring = Scoring::Softmax;  // softmax over all classes (background included), per-logit sigmoid, or as given
  bool decoded = false;                // `reg` already holds normalized xyxy boxes (pytorch-ssd exports): no decoding
  int background = 0;                  // class left out of the output (-1 = none)
  float score_thresh = 0.01f;          // keep scores > score_thresh
  double nms_thresh = 0.45;            // suppress IoU > nms_thresh
  int64_t topk = 400;                  // per-class candidates before NMS
  int64_t detections = 200;            // kept per image over all classes
  bool clip = true;                    // clip decoded boxes to [0,1] before NMS
  // One NMS across classes over each anchor's best class (TFLite_Detection_PostProcess's fast NMS): per anchor the
  // best class ≠ background (ties → lower class), kept when > score_thresh, the best `topk` anchors by that score
  // (ties → lower anchor), one greedy NMS whatever the class, the first `detections`.
  bool class_agnostic = false;
  CoderParams coder;
};

struct Detections {
  std::vector<float> boxes;     // [k,4] xyxy in image pixels (x·w, y·h of the normalized box)
  std::vector<float> scores;    // [k], decreasing (ties → lower class, then lower anchor)
  std::vector<int32_t> labels;  // [k] class index
};

struct PostprocessWorkspace {
  std::vector<float> scores, cuts, sample, cand_deltas, cand_anchors, cand_boxes, cand_scores;
  std::vector<int32_t> cand_labels, order, keep;
  std::vector<size_t> class_start, class_next, class_kept;
  std::vector<uint64_t> merge_heap;
  std::vector<TopK> topk;
  NmsWorkspace nms;

  // Frees buffers grown past `max_bytes` by an unusually large input, so a long-lived (thread_local) workspace
  // keeps only what typical calls need.
  void trim(size_t max_bytes = size_t(64) << 20);
};

// reg [n,4] deltas (or xyxy boxes when p.decoded), logits [n,c] (or scores with Scoring::Identity), anchors [n,4]
// cxcywh normalized; image_h/w scale the normalized output.
void postprocess(const float* reg, const float* logits, const float* anchors, size_t n, size_t num_classes,
                 float image_h, float image_w, const PostprocessParams& p, Detections& out, PostprocessWorkspace& ws);

}  // namespace ssd
