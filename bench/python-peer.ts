import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Peers run by Debian's Python with the shared peer libraries (`../shared/peers/python`, relative to the repository)
 * on its path, as separate processes. A missing runtime or library is a note, never a failure.
 */
export const PEERS_DIR = new URL('../../shared/peers/', import.meta.url).pathname;
export const PYTHON = '/usr/bin/python3';

export function peerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: `${PEERS_DIR}python` };
}

/** Why a Python peer needing `modules` cannot run here, or null when it can. */
export function pythonMissing(modules: readonly string[]): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is not here`;
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { env: peerEnv(), encoding: 'utf8' });
  if (r.status !== 0)
    return `${PYTHON} cannot import ${modules.join(', ')}: ${r.stderr.trim().split('\n').pop()}`;
  return null;
}

/** Run a peer script from bench/peers/ and parse the JSON it prints. */
export function runPythonPeer<T>(script: string, args: readonly string[]): T | string {
  const path = new URL(`./peers/${script}`, import.meta.url).pathname;
  const r = spawnSync(PYTHON, [path, ...args], { env: peerEnv(), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error || r.status !== 0)
    return `not measured: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`;
  return JSON.parse(r.stdout) as T;
}
