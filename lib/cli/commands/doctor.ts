/**
 * `ssd-edge doctor`: prints the report lib/doctor.ts gathers (platform, addon, ONNX Runtime build and providers,
 * threads, default model), as text or `--json`. Exits 1 when ONNX Runtime does not load (e.g. a bad SSD_EDGE_ORT).
 */
import { Command } from 'commander';
import { formatDoctor, gatherDoctor } from '../../doctor.ts';
import { handleError } from '../handle-error.ts';

export { formatDoctor, gatherDoctor, type DoctorReport } from '../../doctor.ts';

/**
 * The `doctor` command.
 *
 * @example
 * ssd-edge doctor --json
 */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description('show the platform, native addon, ONNX Runtime build and providers, and default model state')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      try {
        const report = await gatherDoctor();
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
        if (report.onnxruntime.error) process.exitCode = 1;
      } catch (err) {
        handleError(err);
      }
    });
}
