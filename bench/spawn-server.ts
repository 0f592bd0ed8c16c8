import { type ChildProcess, spawn } from 'node:child_process';

/** A benchmark's server in its own process (so the load generator does not share its event loop). */
export interface BenchServer {
  child: ChildProcess;
  url: string;
  key: string;
}

/** Run `script` (a file next to this one) with tsx; it prints {url, key} as its first line once it listens. */
export function spawnBenchServer(script: string, args: readonly string[]): Promise<BenchServer> {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), new URL(script, import.meta.url).pathname, ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const { url, key } = JSON.parse(line) as { url: string; key: string };
        resolve({ child, url, key });
      }
    });
    child.on('exit', (code) => reject(new Error(`bench server ${script} exited with ${code}`)));
  });
}

export function stopBenchServer(server: BenchServer): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}
