/**
 * Runs a short-lived external binary (promtool, amtool …) with a time limit and returns its exit
 * code and output, so a test can show the tool's own words when it fails.
 */
import { execFile } from 'node:child_process';

export interface BinaryResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runBinary(
  path: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {}
): Promise<BinaryResult> {
  return new Promise((resolve, reject) => {
    execFile(
      path,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 8 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${path} ${args.join(' ')} did not run: ${error.message}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      }
    );
  });
}
