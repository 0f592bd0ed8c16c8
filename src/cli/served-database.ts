import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { SegflowError } from '../errors.js';
import { servedFilePath } from './served-file.js';

export { servedFilePath } from './served-file.js';

/**
 * How `segflow serve` tells other segflow processes that it holds a database: a file beside the database
 * (`<database>.serve.json`, mode 0600, so only the user who runs the server — and root — can read its token). The
 * server writes it **before** it opens the database (pid only: "starting"), and again once it listens, with its
 * address and a local token that lets the CLI run commands through it; a clean shutdown removes it. A command that
 * finds a starting server waits for its address instead of failing on the file lock. A file whose pid is gone (a
 * crash, kill -9) is stale and ignored.
 */
export const ServedDatabaseSchema = z.object({
  pid: z.number().int().positive(),
  url: z.url().describe('where the server listens, as the CLI reaches it (loopback)'),
  token: z.string().min(32).describe('the local token: only CLI processes of the same user can read it'),
  db: z.string().describe("the database file (or the embedded ClickHouse engine's folder), absolute"),
  startedAt: z.iso.datetime(),
});
export type ServedDatabase = z.infer<typeof ServedDatabaseSchema>;

/** What the file says while the server opens the database and has no address yet. */
const StartingSchema = ServedDatabaseSchema.pick({ pid: true, db: true, startedAt: true });
type Starting = z.infer<typeof StartingSchema>;

export function newLocalToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Written to a temporary name with mode 0600 and renamed, so a reader never sees half a file. */
function writeServedFile(state: Starting | ServedDatabase): void {
  const path = servedFilePath(state.db);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/** Before the server opens the database: commands that come now wait for its address (see `serverHolding`). */
export function announceStarting(state: Starting): void {
  writeServedFile(state);
}

export function advertiseServer(served: ServedDatabase): void {
  writeServedFile(served);
}

/** Remove the file on shutdown — only if it is still this process's (a second server may have replaced a stale one). */
export function withdrawServer(db: string): void {
  const current = readServedFile(db);
  if (current?.pid === process.pid) rmSync(servedFilePath(db), { force: true });
}

function readServedFile(dbPath: string): Starting | ServedDatabase | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(servedFilePath(dbPath), 'utf8'));
  } catch {
    return undefined; // none, unreadable (another user's server), or not written whole
  }
  const served = ServedDatabaseSchema.safeParse(doc);
  if (served.success) return served.data;
  const starting = StartingSchema.safeParse(doc);
  return starting.success ? starting.data : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live server holding this database, if one runs and listens; a stale file (its process is gone) counts as none. */
export function liveServerFor(dbPath: string): ServedDatabase | undefined {
  const state = liveState(dbPath);
  return state && 'url' in state ? state : undefined;
}

function liveState(dbPath: string): Starting | ServedDatabase | undefined {
  if (dbPath === ':memory:' || dbPath === '') return undefined;
  const state = readServedFile(dbPath);
  return state && state.pid !== process.pid && processAlive(state.pid) ? state : undefined;
}

/**
 * The server holding this database, waiting while one is starting (it holds the file lock before it listens) until it
 * listens, or its process ends (then none), or `timeoutMs` passes (then an error that says so).
 */
export async function serverHolding(dbPath: string, timeoutMs = 60_000): Promise<ServedDatabase | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = liveState(dbPath);
    if (!state) return undefined;
    if ('url' in state) return state;
    if (Date.now() > deadline) {
      throw new SegflowError(
        'SERVER_RUNNING',
        `segflow serve (pid ${state.pid}) is still starting on ${state.db}`,
        'wait until it logs "segflow serve listening", then run the command again',
      );
    }
    await sleep(100);
  }
}

/** For commands that need the database closed (the erasure rewrites the file): say who holds it and what to do. */
export function refuseWhileServed(dbPath: string, command: string, whatToDo: string): void {
  const state = liveState(dbPath);
  if (!state) return;
  const where = 'url' in state ? `, ${state.url}` : ', starting';
  throw new SegflowError(
    'SERVER_RUNNING',
    `${command} needs the database closed, and \`segflow serve\` (pid ${state.pid}${where}) holds ${state.db}`,
    whatToDo,
  );
}
