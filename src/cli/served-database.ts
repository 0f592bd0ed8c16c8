import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { SegflowError } from '../errors.js';

/**
 * How `segflow serve` tells other segflow processes that it holds a database: a file beside the database
 * (`<database>.serve.json`, mode 0600, so only the user who runs the server — and root — can read its token) with
 * the server's address, pid and a local token that lets the CLI run commands through it. The server writes it once
 * it listens and removes it on a clean shutdown; a file whose pid is gone (a crash, kill -9) is stale and ignored.
 */
export const ServedDatabaseSchema = z.object({
  pid: z.number().int().positive(),
  url: z.url().describe('where the server listens, as the CLI reaches it (loopback)'),
  token: z.string().min(32).describe('the local token: only CLI processes of the same user can read it'),
  db: z.string().describe('the database file, absolute'),
  startedAt: z.iso.datetime(),
});
export type ServedDatabase = z.infer<typeof ServedDatabaseSchema>;

export function servedFilePath(dbPath: string): string {
  return `${resolve(dbPath)}.serve.json`;
}

export function newLocalToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Written to a temporary name with mode 0600 and renamed, so a reader never sees half a file. */
export function advertiseServer(served: ServedDatabase): void {
  const path = servedFilePath(served.db);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(served, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/** Remove the file on shutdown — only if it is still this server's (a second server may have replaced a stale one). */
export function withdrawServer(served: ServedDatabase): void {
  const current = readServedFile(served.db);
  if (current?.token === served.token) rmSync(servedFilePath(served.db), { force: true });
}

function readServedFile(dbPath: string): ServedDatabase | undefined {
  let text: string;
  try {
    text = readFileSync(servedFilePath(dbPath), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = ServedDatabaseSchema.safeParse(JSON.parse(text || 'null'));
  return parsed.success ? parsed.data : undefined;
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

/** The server holding this database, if one runs; a stale file (its process is gone) counts as none. */
export function liveServerFor(dbPath: string): ServedDatabase | undefined {
  if (dbPath === ':memory:' || dbPath === '') return undefined;
  let served: ServedDatabase | undefined;
  try {
    served = readServedFile(dbPath);
  } catch {
    return undefined; // not JSON: not a file a server wrote whole
  }
  if (!served) return undefined;
  return processAlive(served.pid) ? served : undefined;
}

/** For commands that need the database closed (the erasure rewrites the file): say who holds it and what to do. */
export function refuseWhileServed(dbPath: string, command: string, whatToDo: string): void {
  const served = liveServerFor(dbPath);
  if (!served) return;
  throw new SegflowError(
    'SERVER_RUNNING',
    `${command} needs the database closed, and \`segflow serve\` (pid ${served.pid}, ${served.url}) holds ${served.db}`,
    whatToDo,
  );
}
