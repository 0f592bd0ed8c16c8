import { AsyncLocalStorage } from 'node:async_hooks';
import { isAbsolute, resolve } from 'node:path';

/**
 * The directory a command's relative paths mean. For the user's own process that is its working directory; when
 * `segflow serve` runs a CLI command for another process (the CLI beside a running server, docs/cli-and-server.md),
 * it is that process's directory — kept per command here, because the server's own directory is process-wide and
 * the server keeps running its own work (intake log, timers) while the command runs.
 */
const commandDirs = new AsyncLocalStorage<string>();

export function workingDir(): string {
  return commandDirs.getStore() ?? process.cwd();
}

/** Run `fn` with relative paths meaning `dir` (an absolute path) for everything it calls. */
export function inWorkingDir<T>(dir: string, fn: () => T): T {
  return commandDirs.run(dir, fn);
}

/**
 * A path to open: unchanged in the user's own process (so messages show what was typed and behaviour is exactly
 * Node's), resolved against the command's directory when the server runs the command for another process.
 */
export function fromWorkingDir(path: string): string {
  const dir = commandDirs.getStore();
  return dir === undefined || isAbsolute(path) ? path : resolve(dir, path);
}
