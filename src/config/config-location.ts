import { existsSync } from 'node:fs';
import { fromWorkingDir } from './working-dir.js';

/** The configuration file, in the command's working directory. */
export const CONFIG_FILE = 'segflow.config.yaml';

/**
 * Whether there is a configuration file to read. Without one every setting has its default, which a command can know
 * without loading the file's parser and schema (config.ts: YAML and zod, tens of milliseconds of a short command).
 */
export function configFileExists(path = CONFIG_FILE): boolean {
  return existsSync(fromWorkingDir(path));
}
