import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { createApiKey } from '../../src/govern/api-keys.js';
import { buildServer, type SegflowServer, type ServerOptions } from '../../src/server/app.js';
import type { TestEngine } from '../helpers/engines.js';
import { mulberry32 } from '../helpers/random.js';

export interface TestServer extends SegflowServer {
  url: string;
  wh: Warehouse;
  keys: { write: string; read: string; admin: string };
  close(): Promise<void>;
}

/** A real segflow server on 127.0.0.1 (a free port), over a fresh database, with one key of each role. */
export async function startTestServer(
  options: Omit<ServerOptions, 'warehouse'> & { dbPath?: string } = {},
): Promise<TestServer> {
  const wh = await openWarehouse({ path: options.dbPath ?? ':memory:' });
  const keys = {
    write: (await createApiKey(wh, 'write')).key,
    read: (await createApiKey(wh, 'read')).key,
    admin: (await createApiKey(wh, 'admin')).key,
  };
  const server = await buildServer({ ...options, warehouse: wh });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    ...server,
    url,
    wh,
    keys,
    async close() {
      await server.app.close();
      await wh.close();
    },
  };
}

export function basicAuth(key: string): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
}

export type StoredEvent = {
  message_id: string;
  type: string;
  event: string | null;
  name: string | null;
  person_id: string;
  ts: Date;
  properties: string | null;
  traits: string | null;
};

/** Every stored event with the person it resolves to, keyed by messageId (asserting none is stored twice). */
export async function storedEvents(wh: Warehouse): Promise<Map<string, StoredEvent>> {
  const rows = await wh.query<StoredEvent>(
    `SELECT e.message_id, e.type, e.event, e.name, coalesce(i.person_id, '?') AS person_id, e.ts, e.properties, e.traits
     FROM events e LEFT JOIN identities i ON i.identifier = coalesce(e.user_id, e.anonymous_id)`,
  );
  const byId = new Map<string, StoredEvent>();
  for (const r of rows) {
    if (byId.has(r.message_id)) throw new Error(`messageId ${r.message_id} is stored twice`);
    byId.set(r.message_id, r);
  }
  return byId;
}

/** A seeded PRNG: the same seed gives the same sequence, so a failing case can be replayed. */
export const prng = mulberry32;

const RUN = new URL('../../src/cli/run.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  exited: Promise<number | null>;
}

/** Run the real `segflow serve` (from source) as a child process on a free port; resolves once it listens. */
export function spawnServe(
  dbPath: string,
  extraArgs: string[] = [],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', TSX, RUN, '--db', dbPath, 'serve', '--port', '0', '--host', '127.0.0.1', ...extraArgs],
    {
      env: { ...process.env, SEGFLOW_DB: '', ...options.env },
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    },
  );
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`segflow serve did not start within 60 s:\n${err}`));
    }, 60_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      err += chunk;
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*segflow serve listening/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`segflow serve exited with ${code} before listening:\n${err}`));
    });
  });
}

/**
 * Where one engine's database lives for a child `segflow serve`: the CLI's environment that selects it and how the
 * test opens it afterwards. On ClickHouse it is the embedded engine (chdb) in the default folder of the working
 * directory (./segflow.clickhouse, its intake log ./segflow.clickhouse.intake beside it).
 */
export interface ServedDatabaseUnderTest {
  env: Record<string, string>;
  open(): Promise<Warehouse>;
  /** Where serve keeps its intake log by default: beside the database file or folder. */
  intakeLog: string;
}

/** The database a child `segflow serve` (and the CLI) run in `dir` uses on `engine`. */
export function servedDatabase(engine: TestEngine, dir: string): ServedDatabaseUnderTest {
  if (engine.name === 'duckdb') {
    const db = join(dir, 'served.duckdb');
    return {
      env: { SEGFLOW_DB: db },
      open: () => openWarehouse({ path: db, readOnly: true }),
      intakeLog: `${db}.intake`,
    };
  }
  return {
    env: { SEGFLOW_ENGINE: 'clickhouse' },
    open: () =>
      openWarehouse({
        clickhouse: { folder: join(dir, 'segflow.clickhouse'), database: 'segflow' },
        readOnly: true,
      }),
    intakeLog: join(dir, 'segflow.clickhouse.intake'),
  };
}
