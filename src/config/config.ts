import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ClickHouseConfig, EngineName } from '../engine/clickhouse/clickhouse-config.js';
import { SegflowError } from '../errors.js';
import { didYouMeanSuffix } from '../shared/did-you-mean.js';
import { CONFIG_FILE, configFileExists } from './config-location.js';
import { fromWorkingDir } from './working-dir.js';

export { CONFIG_FILE } from './config-location.js';

/**
 * The top-level keys of segflow.config.yaml. The sections after `segments` belong to later steps, which validate
 * them with their own schema (modelConfig, measureConfig, retentionConfig, …); a step adding a section adds it here,
 * so a misspelled key (`modle:`) is an error instead of a setting silently ignored.
 */
const SECTIONS = [
  'db',
  'engine',
  'clickhouse',
  'segments',
  'playbook',
  'model',
  'measure',
  'retention',
  'privacy',
];

/** segflow.config.yaml. Later steps add their sections here; one schema validates the file and exports JSON Schema. */
export const SegflowConfig = z
  .object({
    db: z.string().min(1).optional().describe('database file (default ./segflow.duckdb)'),
    engine: EngineName.optional(),
    clickhouse: ClickHouseConfig.partial()
      .optional()
      .describe('the ClickHouse server or embedded folder (engine: clickhouse)'),
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
  .passthrough()
  .superRefine((doc, ctx) => {
    for (const key of Object.keys(doc)) {
      if (SECTIONS.includes(key)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `not a configuration key${didYouMeanSuffix(key, SECTIONS)} (keys: ${SECTIONS.join(', ')})`,
      });
    }
  });
export type SegflowConfig = z.infer<typeof SegflowConfig>;

export function loadConfig(path = CONFIG_FILE): SegflowConfig {
  if (!configFileExists(path)) return {};
  let doc: unknown;
  try {
    doc = parse(readFileSync(fromWorkingDir(path), 'utf8'));
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
