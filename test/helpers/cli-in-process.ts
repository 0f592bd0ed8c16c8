import { main } from '../../src/cli/main.js';
import type { CliResult } from './cli.js';

/**
 * The real `segflow` command run inside this process, in a given directory, with stdout and stderr captured: the same
 * code as `segflow` in a shell minus starting a process, which keeps a test of dozens of documented commands fast.
 * Calls run one at a time (the working directory and the streams are process-wide).
 */
export async function segflowHere(args: string[], cwd: string): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const home = process.cwd();
  const env = process.env.SEGFLOW_DB;
  // The CLI writes text; the test runner reports to its parent in binary frames on the same stdout, and those must
  // still reach it while a command runs.
  const capture =
    (into: string[], original: typeof process.stdout.write) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      if (typeof chunk !== 'string') return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      into.push(chunk);
      return true;
    };
  process.stdout.write = capture(out, stdout) as typeof process.stdout.write;
  process.stderr.write = capture(err, stderr) as typeof process.stderr.write;
  process.chdir(cwd);
  delete process.env.SEGFLOW_DB;
  try {
    const status = await main(args);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
    process.chdir(home);
    if (env !== undefined) process.env.SEGFLOW_DB = env;
  }
}
