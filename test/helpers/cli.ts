import { execFile, spawnSync } from 'node:child_process';

const RUN = new URL('../../src/cli/run.ts', import.meta.url).pathname;
// Resolved here so the child finds tsx whatever its working directory.
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real `segflow` CLI (from source) in a child process. */
export function segflow(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliResult {
  const r = spawnSync(process.execPath, ['--import', TSX, RUN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, SEGFLOW_DB: '', ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking this process (for tests whose servers the CLI talks to). */
export function segflowAsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, RUN, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, SEGFLOW_DB: '', ...options.env },
        encoding: 'utf8',
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
