import { mkdirSync } from 'node:fs';
import { SegflowError } from '../../errors.js';
import { quoteSettingValue } from './clickhouse-literals.js';
import { CLICKHOUSE_SESSION_SETTINGS, type ClickHouseTransport, type CompactResult } from './transport.js';

/** The parts of chdb's Session this transport uses (chdb is an optional dependency, loaded on demand). */
interface ChdbSession {
  queryAsync(sql: string, options?: { format?: string }): Promise<{ text(): string; bytes(): Uint8Array }>;
  insert(params: {
    table: string;
    values: string;
    format: 'JSONCompactEachRow';
    columns?: readonly string[];
  }): Promise<unknown>;
  close(): void;
}

/** How to get chdb when it is missing: it is large (about 500 MB), so it is not installed with segflow. */
export const CHDB_MISSING_HINT =
  'install the embedded ClickHouse engine with `npm install chdb` (about 500 MB), or point segflow at a ClickHouse server with --clickhouse-url';

async function loadChdb(): Promise<{ Session: new (path: string) => ChdbSession }> {
  try {
    // A variable specifier keeps TypeScript from requiring chdb's types where it is not installed.
    const name = 'chdb';
    return (await import(name)) as { Session: new (path: string) => ChdbSession };
  } catch (e) {
    throw new SegflowError(
      'CLICKHOUSE_UNAVAILABLE',
      'the embedded ClickHouse engine (chdb) is not installed',
      CHDB_MISSING_HINT,
      {
        cause: e,
      },
    );
  }
}

/** Fails with CLICKHOUSE_UNAVAILABLE and how to get chdb when it is not installed (before any work that needs it). */
export async function requireChdb(): Promise<void> {
  await loadChdb();
}

/**
 * The embedded ClickHouse engine: chdb's Session keeps its tables in `folder` (a throwaway folder when omitted).
 * chdb runs one engine per process, so open one at a time.
 *
 * @example
 * const transport = await openChdbTransport({ folder: './segflow.clickhouse', database: 'segflow' });
 */
export async function openChdbTransport(options: {
  folder: string;
  database: string;
}): Promise<ClickHouseTransport> {
  const { Session } = await loadChdb();
  mkdirSync(options.folder, { recursive: true });
  const session = new Session(options.folder);
  const exec = async (sql: string) => {
    await session.queryAsync(sql);
  };
  for (const [name, value] of Object.entries(CLICKHOUSE_SESSION_SETTINGS)) {
    await exec(`SET ${name} = ${quoteSettingValue(value)}`);
  }
  await exec(`CREATE DATABASE IF NOT EXISTS ${JSON.stringify(options.database)}`);
  await exec(`USE ${JSON.stringify(options.database)}`);
  return {
    location: options.folder,
    exec,
    async select(sql): Promise<CompactResult> {
      const text = (await session.queryAsync(sql, { format: 'JSONCompact' })).text();
      return text.trim() ? (JSON.parse(text) as CompactResult) : { meta: [], data: [] };
    },
    async insert(table, columns, lines) {
      await session.insert({ table, values: lines, format: 'JSONCompactEachRow', columns });
    },
    async raw(sql, format) {
      return (await session.queryAsync(sql, { format })).bytes();
    },
    async close() {
      session.close();
    },
  };
}
