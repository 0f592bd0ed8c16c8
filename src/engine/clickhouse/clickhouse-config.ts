import { z } from 'zod';

/**
 * Where a ClickHouse warehouse lives: a server (`url`, reached over HTTP) or, without a url, the embedded engine
 * (chdb) keeping its tables in `folder`. The `clickhouse:` section of segflow.config.yaml.
 *
 * @example
 * ClickHouseConfig.parse({ url: 'http://127.0.0.1:8123' }) // { url: 'http://127.0.0.1:8123', database: 'segflow' }
 */
export const ClickHouseConfig = z
  .object({
    url: z
      .string()
      .url()
      .optional()
      .describe('the server HTTP interface, e.g. http://127.0.0.1:8123 (none: the embedded engine, chdb)'),
    database: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a database name: letters, digits and _')
      .default('segflow')
      .describe('the database holding segflow tables (default segflow)'),
    username: z.string().optional().describe('user name on the server (default: default)'),
    password: z.string().optional().describe('password on the server (prefer SEGFLOW_CLICKHOUSE_PASSWORD)'),
    folder: z
      .string()
      .min(1)
      .optional()
      .describe('folder of the embedded engine (default ./segflow.clickhouse); ignored with a url'),
  })
  .strict();
export type ClickHouseConfig = z.infer<typeof ClickHouseConfig>;

/** The engines segflow runs on: `engine:` in segflow.config.yaml, --engine, SEGFLOW_ENGINE. */
export const EngineName = z.enum(['duckdb', 'clickhouse']).describe('the storage engine (default duckdb)');
export type EngineName = z.infer<typeof EngineName>;

/** The embedded engine's folder when none is configured. */
export const DEFAULT_CHDB_FOLDER = './segflow.clickhouse';

/**
 * The ClickHouse settings from the config file's section, overridden by environment variables
 * (SEGFLOW_CLICKHOUSE_URL, _DATABASE, _USERNAME, _PASSWORD), overridden by flags.
 *
 * @example
 * resolveClickHouseConfig({ database: 'a' }, { SEGFLOW_CLICKHOUSE_URL: 'http://h:8123' }, {})
 * // { url: 'http://h:8123', database: 'a' }
 */
export function resolveClickHouseConfig(
  file: Partial<ClickHouseConfig> | undefined,
  env: Readonly<Record<string, string | undefined>>,
  flags: { url?: string },
): ClickHouseConfig {
  const fromEnv = {
    url: env.SEGFLOW_CLICKHOUSE_URL || undefined,
    database: env.SEGFLOW_CLICKHOUSE_DATABASE || undefined,
    username: env.SEGFLOW_CLICKHOUSE_USERNAME || undefined,
    password: env.SEGFLOW_CLICKHOUSE_PASSWORD || undefined,
  };
  const merged: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries({ ...fromEnv, url: flags.url || fromEnv.url })) {
    if (v !== undefined) merged[k] = v;
  }
  const parsed = ClickHouseConfig.safeParse(merged);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues.map((i) => `clickhouse.${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}
