{
  "targets": [
    {
      "target_name": "ssd_edge",
      "sources": [
        "native/core/augment.cc",
        "native/core/box_coder.cc",
        "native/core/default_boxes.cc",
        "native/core/grid.cc",
        "native/core/iou.cc",
        "native/core/loss.cc",
        "native/core/matcher.cc",
        "native/core/nms.cc",
        "native/core/postprocess.cc",
        "native/core/preprocess.cc",
        "native/core/sort.cc",
        "native/simd/augment_avx2.cc",
        "native/simd/augment_neon.cc",
        "native/simd/dispatch.cc",
        "native/simd/kernels_scalar.cc",
        "native/simd/kernels_avx2.cc",
        "native/simd/kernels_neon.cc",
        "native/addon/binding.cc",
        "native/addon/ops_augment.cc",
        "native/addon/ops_boxes.cc",
        "native/addon/ops_nms.cc",
        "native/addon/ops_postprocess.cc",
        "native/addon/ops_preprocess.cc",
        "native/addon/ops_simd.cc",
        "native/addon/ops_training.cc",
        "native/addon/postprocess_job.cc",
        "native/addon/worker.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fvisibility=hidden"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
