/**
 * The graph ONNX Runtime actually runs: a session created with `optimizedModelFilePath` writes its optimized graph
 * (after fusions such as QDQ → QLinearConv) to a file. Used to check that a quantized model runs integer kernels.
 */
import { ort } from './ort.ts';
import { defaultThreadOptions, sessionOptionsFor } from './session.ts';

/**
 * Writes ONNX Runtime's optimized graph of `model` (CPU provider) to `outFile` and releases the session.
 *
 * @param model Path of an .onnx file or its bytes.
 * @param outFile Where ONNX Runtime writes the optimized model (ONNX; overwritten: pass a temporary path).
 * @param level Graph optimization level (default 'all', what sessions use). At 'all' the file may hold
 *   CPU-specific layout ops (com.microsoft NCHWc); 'extended' stops before them.
 * @throws {Error} ONNX Runtime's message when the model does not load.
 * @example
 * await writeOptimizedModel('face.int8.onnx', '/tmp/opt.onnx'); // then count its QLinearConv nodes
 */
export async function writeOptimizedModel(
  model: string | Uint8Array,
  outFile: string,
  level: 'basic' | 'extended' | 'all' = 'all',
): Promise<void> {
  const options = {
    ...sessionOptionsFor('cpu', defaultThreadOptions(), { graphOptimizationLevel: level }),
    optimizedModelFilePath: outFile,
  };
  const session = await ort().InferenceSession.create(model as string, options);
  await session.release();
}
