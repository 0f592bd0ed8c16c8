import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { SegflowError } from '../errors.js';

export const CONFIG_FILE = 'segflow.config.yaml';

/** segflow.config.yaml. Later steps add their sections here; one schema validates the file and exports JSON Schema. */
export const SegflowConfig = z
  .object({
    db: z.string().min(1).optional().describe('database file (default ./segflow.duckdb)'),
    segments: z
      .string()
      .min(1)
      .optional()
      .describe('folder of segment definition files (default ./segments)'),
    dataRoot: z
      .string()
      .min(1)
      .optional()
      .describe('folder every file the server writes on a request goes under (default: beside the database)'),
  })
  .passthrough();
export type SegflowConfig = z.infer<typeof SegflowConfig>;

export function loadConfig(path = CONFIG_FILE): SegflowConfig {
  if (!existsSync(path)) return {};
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SegflowError(
      'CONFIG_INVALID',
      `${path}: not valid YAML: ${(e as Error).message}`,
      'fix the YAML syntax',
    );
  }
  const parsed = SegflowConfig.safeParse(doc ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `${path}: ${i.path.join('.') || '(top level)'}: ${i.message}`,
    );
    throw new SegflowError(
      'CONFIG_INVALID',
      lines.join('\n'),
      'see docs/ARCHITECTURE.md for the configuration keys',
    );
  }
  return parsed.data;
}
