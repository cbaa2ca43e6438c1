/**
 * What int8 gains on this CPU, and the `reduceRange: 'auto'` decision. ONNX Runtime's u8·s8 kernels on x86 without
 * VNNI (plain AVX2, AVX-512 without VNNI) sum pairs of u8·s8 products in int16 (vpmaddubsw), which saturates for
 * large weights; 7-bit weights ([−64, 64]) keep every pair sum within int16. VNNI (AVX512_VNNI, AVX_VNNI) multiplies
 * into int32 directly, and arm64 dot-product (SDOT/UDOT) kernels do not saturate either, so full 8-bit weights are
 * safe there. The features come from the addon's `capabilities().cpu` (cpuid / getauxval); without the addon,
 * /proc/cpuinfo on Linux; otherwise unknown (treated as "no VNNI": reduced range, the safe choice).
 */
import fs from 'node:fs';
import { binding, type CpuFeatures } from '../../binding.ts';
import { assertOneOf } from '../../is.ts';

export type { CpuFeatures };

export interface Int8Support {
  /** The features, or null when they could not be read. */
  cpu: CpuFeatures | null;
  /** Where they were read: 'addon', '/proc/cpuinfo' or 'unknown'. */
  source: 'addon' | '/proc/cpuinfo' | 'unknown';
  /** Whether `reduceRange: 'auto'` picks 7-bit weights here. */
  reduceRange: boolean;
  /** One line: what int8 gains on this CPU. */
  summary: string;
}

/** Features from /proc/cpuinfo's flags (x86) or Features (arm64) line, or null. */
function featuresFromCpuinfo(): CpuFeatures | null {
  let text: string;
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return null;
  }
  const m = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(text);
  if (!m) return null;
  const f = new Set(m[1].split(/\s+/));
  const arm = process.arch === 'arm64';
  return {
    avx2: f.has('avx2'),
    avx512: f.has('avx512f') && f.has('avx512bw'),
    avx512Vnni: f.has('avx512_vnni'),
    avxVnni: f.has('avx_vnni'),
    vnni: f.has('avx512_vnni') || f.has('avx_vnni'),
    neon: arm,
    dotProduct: arm && f.has('asimddp'),
    i8mm: arm && f.has('i8mm'),
  };
}

/** Whether int8 kernels multiply without int16 saturation on a CPU with these features. */
export function hasSaturationFreeInt8(cpu: CpuFeatures): boolean {
  return cpu.vnni || cpu.dotProduct || cpu.i8mm;
}

/**
 * What int8 gains on this CPU and whether `reduceRange: 'auto'` picks 7-bit weights.
 *
 * @example
 * int8Support(); // { cpu: { vnni: true, … }, source: 'addon', reduceRange: false, summary: 'VNNI (AVX512_VNNI): …' }
 */
export function int8Support(): Int8Support {
  const fromAddon = binding?.capabilities().cpu;
  const cpu = fromAddon ?? featuresFromCpuinfo();
  const source = fromAddon ? 'addon' : cpu ? '/proc/cpuinfo' : 'unknown';
  if (!cpu) {
    return {
      cpu,
      source,
      reduceRange: true,
      summary: 'CPU features unknown: int8 models use 7-bit weights (reduce range) to be safe',
    };
  }
  let summary: string;
  if (cpu.vnni) {
    const which = [cpu.avx512Vnni && 'AVX512_VNNI', cpu.avxVnni && 'AVX_VNNI'].filter(Boolean).join(', ');
    summary = `VNNI (${which}): int8 convolutions run on int32 dot products (the largest int8 gain), full 8-bit weights`;
  } else if (cpu.dotProduct || cpu.i8mm) {
    summary = `arm64 ${[cpu.dotProduct && 'dot product', cpu.i8mm && 'I8MM'].filter(Boolean).join(' + ')}: int8 kernels without saturation, full 8-bit weights`;
  } else if (cpu.avx2 || cpu.avx512) {
    summary = `${cpu.avx512 ? 'AVX-512' : 'AVX2'} without VNNI: int8 kernels sum u8·s8 pairs in int16, so int8 models use 7-bit weights (reduce range); smaller gain than with VNNI`;
  } else if (cpu.neon) {
    summary = 'arm64 NEON without dot product: int8 kernels are widening multiplies, a modest gain';
  } else {
    summary = 'no SIMD int8 support found: int8 models mainly save size';
  }
  return { cpu, source, reduceRange: !hasSaturationFreeInt8(cpu), summary };
}

export const REDUCE_RANGE_MODES = ['auto', 'on', 'off'] as const;
export type ReduceRangeMode = (typeof REDUCE_RANGE_MODES)[number];

/** `reduceRange` option → 7-bit weights or not ('auto': from {@link int8Support}). */
export function resolveReduceRange(mode: ReduceRangeMode | boolean): boolean {
  if (typeof mode === 'boolean') return mode;
  assertOneOf('reduceRange', mode, REDUCE_RANGE_MODES);
  return mode === 'auto' ? int8Support().reduceRange : mode === 'on';
}
