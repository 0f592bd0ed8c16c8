import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A test endpoint on 127.0.0.1 that speaks ClickHouse's HTTP interface and passes each query to the embedded engine
 * (chdb), so that the official client (`@clickhouse/client`) runs the ClickHouse adapter's real SQL on the real
 * engine without a server. What it covers of the protocol (docs/scaling.md repeats this):
 * - POST with the query in the body, or in the `query` URL parameter followed by data in the body, in any input
 *   format (JSONCompactEachRow rows, LineAsString, CSVWithNames, RawBLOB bytes…): `INSERT INTO t (cols) FORMAT F`,
 *   and `INSERT INTO t SELECT … FROM input('structure') FORMAT F`, which reads the body through `input()`;
 * - `database` (USE; an unknown one fails with code 81), settings as URL parameters (applied with SET), one
 *   session for every `session_id` (the engine has one connection);
 * - HTTP basic authentication against one user name and password (a wrong one fails with code 516);
 * - errors as ClickHouse sends them: status 500, the `X-ClickHouse-Exception-Code` header and the
 *   `Code: N. DB::Exception: …` text the client parses;
 * - GET /ping.
 * Like a server whose user has no FILE grant, it refuses what would read or write the server's disk (`file()`,
 * `INFILE`, `INTO OUTFILE`) with code 497: the engine behind it shares this machine's disk, and this refusal is what
 * makes a test prove that a file's rows came over HTTP. Data sent with a query is written to a folder of the
 * endpoint's own and read from there by the engine (chdb takes no byte stream for every format), the way a server
 * buffers what it receives.
 * Not covered: compression, progress headers, concurrent sessions, query cancellation.
 */

interface ChdbSession {
  queryAsync(sql: string, options?: { format?: string }): Promise<{ text(): string }>;
  close(): void;
}

/** URL parameters that are part of the protocol rather than settings. */
const PROTOCOL_PARAMS = new Set([
  'query',
  'database',
  'session_id',
  'query_id',
  'default_format',
  'user',
  'password',
]);

/** An INSERT whose data follows it in the body: the statement up to its FORMAT clause, and the format. */
const INSERT_WITH_DATA = /^(\s*INSERT\s+INTO\s[\s\S]*?)\s+FORMAT\s+(\w+)\s*$/i;

/** What a user without the FILE grant may not run: table functions and clauses that read or write the server's disk. */
const SERVER_DISK = /(?<![\w.])(?:file|fileCluster)\s*\(|\bINFILE\b|\bOUTFILE\b/i;

function refusedServerDisk(user: string): { status: number; text: string; code: string } {
  const text = `Code: 497. DB::Exception: ${user}: Not enough privileges. To execute this query, it's necessary to have the grant FILE ON *.*. (ACCESS_DENIED)\n`;
  return { status: 500, text, code: '497' };
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The statement the engine runs for an INSERT with data saved at `path`: `input(…)` reads the saved data (as it
 * reads the request body on a server), and a plain INSERT takes its rows FROM INFILE.
 */
function insertFromSaved(statement: string, format: string, path: string): string {
  const file = `'${path}'`;
  if (/\binput\s*\(/i.test(statement)) {
    return statement.replace(/\binput\s*\(\s*/i, `file(${file}, '${format}', `);
  }
  return `${statement} FROM INFILE ${file} FORMAT ${format}`;
}

function codeOf(message: string): string {
  return /Code: (\d+)/.exec(message)?.[1] ?? '1000';
}

export interface ClickHouseHttpEndpoint {
  url: string;
  /** Stop answering (connections are refused) and start again on the same port: an outage. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Start the endpoint (chdb must not be open elsewhere in this process).
 *
 * @example
 * const endpoint = await startClickHouseHttpEndpoint({ password: 'secret' });
 * const wh = await openClickHouse({ url: endpoint.url, database: 'segflow', password: 'secret' });
 */
export async function startClickHouseHttpEndpoint(
  options: { username?: string; password?: string; databases?: readonly string[] } = {},
): Promise<ClickHouseHttpEndpoint> {
  const name = 'chdb';
  const { Session } = (await import(name)) as { Session: new (path: string) => ChdbSession };
  const folder = mkdtempSync(join(tmpdir(), 'segflow-chdb-http-'));
  const session = new Session(folder);
  for (const db of options.databases ?? ['segflow'])
    await session.queryAsync(`CREATE DATABASE IF NOT EXISTS ${db}`);
  const username = options.username ?? 'default';
  const password = options.password ?? '';
  let uploads = 0;
  // One query at a time, as a ClickHouse session serves them.
  let queue: Promise<unknown> = Promise.resolve();

  const handle = async (req: IncomingMessage): Promise<{ status: number; text: string; code?: string }> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/ping') return { status: 200, text: 'Ok.\n' };
    const auth = req.headers.authorization ?? '';
    const [user, pass] = auth.startsWith('Basic ')
      ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(/:(.*)/s)
      : [
          String(req.headers['x-clickhouse-user'] ?? 'default'),
          String(req.headers['x-clickhouse-key'] ?? ''),
        ];
    if (user !== username || (pass ?? '') !== password) {
      const text = `Code: 516. DB::Exception: ${user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)\n`;
      return { status: 403, text, code: '516' };
    }
    const data = await body(req);
    const fromUrl = url.searchParams.get('query');
    const query = fromUrl ?? data.toString('utf8');
    if (SERVER_DISK.test(query)) return refusedServerDisk(user ?? 'default');
    try {
      const database = url.searchParams.get('database');
      if (database) await session.queryAsync(`USE ${database}`);
      for (const [key, value] of url.searchParams) {
        if (PROTOCOL_PARAMS.has(key)) continue;
        await session.queryAsync(
          `SET ${key} = ${/^-?\d+$/.test(value) ? value : `'${value.replaceAll("'", "\\'")}'`}`,
        );
      }
      const insert = fromUrl ? INSERT_WITH_DATA.exec(fromUrl) : null;
      if (insert) {
        const saved = join(folder, `upload-${++uploads}`);
        writeFileSync(saved, data);
        try {
          await session.queryAsync(insertFromSaved(insert[1]!, insert[2]!, saved));
        } finally {
          rmSync(saved, { force: true });
        }
        return { status: 200, text: '' };
      }
      const sql = fromUrl ? `${fromUrl}\n${data.toString('utf8')}` : query;
      return { status: 200, text: (await session.queryAsync(sql)).text() };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { status: 500, text: `${message}\n`, code: codeOf(message) };
    }
  };

  let server: Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => {
        const answer = queue.then(() => handle(req));
        queue = answer.catch(() => undefined);
        void answer.then(({ status, text, code }) => {
          const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=UTF-8' };
          if (code) headers['X-ClickHouse-Exception-Code'] = code;
          res.writeHead(status, headers).end(text);
        });
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
      server = undefined;
    });
  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    stop,
    start,
    async close() {
      await stop();
      session.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
