/**
 * The gradient kernels tfjs-backend-wasm lacks for training SSD models, registered once per tf instance. Each is
 * built from wasm's own kernels (see conv-backprop.ts, segment.ts) and checked against the cpu backend in
 * test/unit/train/kernels.test.ts.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { Tf } from '../backend.ts';
import {
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
} from './conv-backprop.ts';
import { unsortedSegmentSumConfig } from './segment.ts';

/** Kernel names this module registers for wasm (when wasm does not have them already). */
export const WASM_GRADIENT_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
] as const;

/** The kernel configs for backend `backendName` (exported so tests can register them under another name). */
export function gradientKernelConfigs(tf: Tf, backendName = 'wasm'): KernelConfig[] {
  return [
    conv2dBackpropFilterConfig(tf, backendName),
    depthwiseBackpropFilterConfig(tf, backendName),
    depthwiseBackpropInputConfig(tf, backendName),
    unsortedSegmentSumConfig(tf, backendName),
  ];
}

/**
 * Registers the missing wasm gradient kernels on `tf` (skips any kernel wasm already registers, e.g. in a later
 * tfjs version). Idempotent. Returns the names registered by this call.
 */
export function registerWasmGradients(tf: Tf): string[] {
  const added: string[] = [];
  for (const config of gradientKernelConfigs(tf, 'wasm')) {
    if (tf.getKernel(config.kernelName, 'wasm')) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}
