import { statSync } from 'node:fs';
import { loadConfig } from '../config/config.js';
import { fromWorkingDir } from '../config/working-dir.js';
import { loadPlaybook, type Playbook } from './playbook.js';

/** Where the playbook is: the argument, else `playbook:` in segflow.config.yaml, else ./playbook.yaml. */
export function playbookPath(explicit?: string): string {
  // decide() asks on every request: the configuration is read only when no path was given.
  if (explicit) return explicit;
  const configured = loadConfig().playbook;
  return (typeof configured === 'string' && configured) || 'playbook.yaml';
}

const cache = new Map<string, { mtimeMs: number; playbook: Playbook }>();

/** The playbook, parsed once per change of the file (decide() reads it on every request). */
export function cachedPlaybook(path: string): Playbook {
  const mtimeMs = statSync(fromWorkingDir(path), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  // Keyed by the file itself: the same relative name means different files for commands run from other folders.
  const key = fromWorkingDir(path);
  const hit = cache.get(key);
  if (hit && hit.mtimeMs === mtimeMs) return hit.playbook;
  const playbook = loadPlaybook(path);
  cache.set(key, { mtimeMs, playbook });
  return playbook;
}
