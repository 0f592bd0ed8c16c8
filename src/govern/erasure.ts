import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type ClickHouseConfig, DEFAULT_CHDB_FOLDER } from '../engine/clickhouse/clickhouse-config.js';
import { eraseDeletedRows, openWarehouse, type StorageErasure, zeroAndRemove } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { defaultIntakeLogDir, INTAKE_LOG_POSITION_KEY } from '../instrument/intake-log.js';

/**
 * Privacy requests and their erasure from storage. A delete removes the person's rows at once; the bytes those rows
 * occupied stay in the database file's freed blocks, in ClickHouse's parts (and in intake log segments) until the
 * erasure step removes them (eraseFromStorage). Each request records when that happened, so an operator can show a deletion reached
 * storage: `segflow privacy status`.
 */

export interface PrivacyRequestRow {
  id: number;
  kind: 'delete' | 'tombstone';
  tombstone: string;
  persons: number;
  requestedAt: Date;
  /** When the erasure reached storage; null while pending. */
  erasedAt: Date | null;
}

export async function recordPrivacyRequest(
  wh: Warehouse,
  r: { kind: PrivacyRequestRow['kind']; tombstone: string; persons: number },
): Promise<number> {
  const [top] = await wh.query<{ id: number | null }>('SELECT max(id) AS id FROM privacy_requests');
  const id = Number(top?.id ?? 0) + 1;
  // A tombstone-only request has nothing of the person to erase: it is complete when recorded.
  const now = new Date();
  await wh.run(
    'INSERT INTO privacy_requests (id, kind, tombstone, persons, requested_at, erased_at) VALUES (?, ?, ?, ?, ?, ?)',
    [id, r.kind, r.tombstone, r.persons, now, r.kind === 'tombstone' ? now : null],
  );
  return id;
}

/** Every privacy request, newest first, with whether its erasure reached storage. */
export async function privacyStatus(wh: Warehouse): Promise<PrivacyRequestRow[]> {
  const rows = await wh.query<{
    id: number;
    kind: PrivacyRequestRow['kind'];
    tombstone: string;
    persons: number;
    requested_at: Date;
    erased_at: Date | null;
  }>('SELECT * FROM privacy_requests ORDER BY id DESC');
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    tombstone: r.tombstone,
    persons: Number(r.persons),
    requestedAt: r.requested_at,
    erasedAt: r.erased_at,
  }));
}

/** Mark every pending request erased (called once the storage has been rewritten). */
export async function markErased(wh: Warehouse, at: Date): Promise<number> {
  return wh.run('UPDATE privacy_requests SET erased_at = ? WHERE erased_at IS NULL', [at]);
}

export interface ErasureResult {
  /** Privacy requests whose erasure this run completed. */
  requests: number;
  erasedAt: Date;
  /** Bytes on disk before and after: the DuckDB file, or ClickHouse's parts (and, there, the tables rewritten). */
  database: StorageErasure;
  /** Intake log segments overwritten and removed (everything in them was already in the warehouse). */
  intakeSegments: number;
}

const SEGMENT = /^(\d{10})\.log$/;

/** The database the erasure step works on: a DuckDB file, or ClickHouse (embedded in a folder, or a server). */
export interface ErasureTarget {
  dbPath: string;
  clickhouse?: ClickHouseConfig;
  /** The collector's intake log (default: beside the database, see defaultIntakeLogDir). */
  intakeLog?: string;
}

/**
 * The erasure step: make every completed delete reach storage. The collector's intake log segments (whose events the
 * warehouse has all loaded) are overwritten with zeros and removed, and the engine makes the deleted rows leave its
 * files (eraseDeletedRows: a DuckDB file is rewritten into a fresh one; chdb's tables that had deletes are rewritten;
 * a ClickHouse server merges them out and removes the replaced parts). Then every pending request is marked erased.
 * Runs on a database this process has not opened: `segflow privacy erase`, or `segflow serve` at start. Rejects and
 * audience files are rewritten at the delete itself.
 */
export async function eraseFromStorage(options: ErasureTarget): Promise<ErasureResult> {
  const target = { path: options.dbPath, ...(options.clickhouse ? { clickhouse: options.clickhouse } : {}) };
  let wh = await openWarehouse(target);
  let intakeSegments = 0;
  try {
    const intakeDir = options.intakeLog ?? defaultIntakeLogDir(wh.location);
    const [row] = await wh.query<{ value: string }>('SELECT value FROM segflow_meta WHERE key = ?', [
      INTAKE_LOG_POSITION_KEY,
    ]);
    if (intakeDir) intakeSegments = removeLoadedSegments(intakeDir, row?.value);
  } finally {
    await wh.close();
  }
  const database = await eraseDeletedRows(target);
  wh = await openWarehouse(target);
  const erasedAt = new Date();
  try {
    const requests = await markErased(wh, erasedAt);
    return { requests, erasedAt, database, intakeSegments };
  } finally {
    await wh.close();
  }
}

/** Zero and remove the intake log segments the warehouse has loaded; refuse if any holds events not loaded yet. */
function removeLoadedSegments(dir: string, position: string | undefined): number {
  if (!existsSync(dir)) return 0;
  const m = position ? /^(\d+):(\d+)$/.exec(position) : null;
  const loaded = m ? { segment: Number(m[1]), offset: Number(m[2]) } : { segment: 0, offset: 0 };
  const segments = readdirSync(dir)
    .map((f) => SEGMENT.exec(f))
    .filter((x): x is RegExpExecArray => x !== null)
    .map((x) => ({ n: Number(x[1]), path: join(dir, x[0]) }));
  // A segment at or after the loaded position with bytes beyond it holds frames not loaded yet.
  const unloaded = segments.filter(
    (s) => s.n >= loaded.segment && statSync(s.path).size > (s.n === loaded.segment ? loaded.offset : 0),
  );
  if (unloaded.length) {
    throw new SegflowError(
      'STORAGE_FAILED',
      `the intake log ${dir} holds acknowledged events the warehouse has not loaded yet; nothing was erased`,
      'start `segflow serve` once (it loads them at start) and stop it, then run `segflow privacy erase` again',
    );
  }
  for (const s of segments) zeroAndRemove(s.path);
  return segments.length;
}

/**
 * `segflow serve` at start: if deletes are waiting to reach storage, run the erasure step before the server opens the
 * database. Returns null when nothing was pending (or there is no database yet). An intake log with unloaded events
 * defers it to the next start (the server loads them first), reported as an error the caller logs. Not for a
 * ClickHouse server: other processes may be using it, and its cleanup takes minutes (`segflow privacy erase` there).
 */
export async function erasePendingAtStart(options: ErasureTarget): Promise<ErasureResult | null> {
  const where = options.clickhouse ? (options.clickhouse.folder ?? DEFAULT_CHDB_FOLDER) : options.dbPath;
  if (options.clickhouse?.url || !existsSync(where)) return null;
  const wh = await openWarehouse({
    path: options.dbPath,
    ...(options.clickhouse ? { clickhouse: options.clickhouse } : {}),
  });
  let pending: number;
  try {
    pending = (await privacyStatus(wh)).filter((r) => r.erasedAt === null).length;
  } finally {
    await wh.close();
  }
  return pending ? eraseFromStorage(options) : null;
}
