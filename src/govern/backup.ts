import { copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { z } from 'zod';
import { backupToFile, CLICKHOUSE_BACKUP_HINT, fileSchemaVersion, openWarehouse } from '../engine/open.js';
import { LATEST_SCHEMA_VERSION } from '../engine/schema.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { INTAKE_LOG_POSITION_KEY } from '../instrument/intake-log.js';
import { Timestamp } from '../shared/timestamp.js';
import { eraseFromStorage } from './erasure.js';
import { deletePerson } from './privacy.js';

/**
 * Backup and restore (docs/govern.md#backup-and-restore).
 *
 * A backup is a consistent copy of the database made while it stays in use (one snapshot of every table: see
 * engine/duckdb/backup-file.ts). A restore brings a backup back **into a new file**, after checking its schema version
 * fits (older: migrated; newer: refused), and never brings back a person deleted since the backup was made:
 * tombstones live in the database being replaced, which a restore does not roll back — the restore takes every
 * tombstone (and suppression) of that current database into the restored file, deletes whoever they name there, and
 * erases those rows from the new file's bytes before it is put in place. The privacy salt goes with them (a backup made
 * before the first delete has none yet), so the hashes mean the same identifiers.
 */

export const BackupResultSchema = z
  .object({
    file: z.string().describe('the backup file'),
    bytes: z.int(),
    schemaVersion: z.int(),
    events: z.int().describe('events in the backup'),
    startedAt: Timestamp.describe('every event acknowledged before this time is in the backup'),
    finishedAt: Timestamp,
    intakeLogPosition: z
      .string()
      .nullable()
      .describe(
        "how far the collector's intake log is in the backup (segment:byte): the frames up to it are, later ones are not (null: no log was ever loaded)",
      ),
  })
  .meta({ id: 'BackupResult' });
export type BackupResult = z.output<typeof BackupResultSchema>;

export const RestoreResultSchema = z
  .object({
    file: z.string().describe('the restored database (a new file)'),
    backup: z.string(),
    backupSchemaVersion: z.int(),
    schemaVersion: z.int().describe('after migrating, this segflow’s version'),
    events: z.int().describe('events in the restored database'),
    tombstones: z
      .int()
      .nullable()
      .describe('tombstones taken from the current database (null: no current database to take them from)'),
    peopleDeletedAgain: z.int().describe('people in the backup deleted since it was made, deleted again'),
  })
  .meta({ id: 'RestoreResult' });
export type RestoreResult = z.output<typeof RestoreResultSchema>;

/** How far the collector's intake log was loaded into this database (instrument/intake-log.ts's position). */
async function intakeLogPositionOf(wh: Warehouse): Promise<string | null> {
  const [row] = await wh.query<{ value: string }>('SELECT value FROM segflow_meta WHERE key = ?', [
    INTAKE_LOG_POSITION_KEY,
  ]);
  return row?.value ?? null;
}

async function eventCount(wh: Warehouse): Promise<number> {
  const [row] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM events');
  return Number(row?.n ?? 0);
}

/**
 * Copy the database `wh` into a new file while it stays in use. `settled` (a running server's collector) loads what
 * the collector acknowledged before it is called: it is called after the start time is taken, so every event
 * acknowledged before `startedAt` is in the copy. Events acknowledged while the backup runs wait in the intake log
 * and may or may not be in it; the copy's own record of how far the log is loaded (written in the same transaction
 * as each load) says exactly, and is reported. The log's frames themselves are not copied: what they add beyond that
 * position was acknowledged after the backup started, and stays in the live database.
 */
export async function backupDatabase(
  wh: Warehouse,
  file: string,
  options: { settled?: () => Promise<void> } = {},
): Promise<BackupResult> {
  const startedAt = new Date();
  await options.settled?.();
  const { bytes } = await backupToFile(wh, file);
  const check = await openWarehouse({ path: file, readOnly: true });
  try {
    return {
      file,
      bytes,
      schemaVersion: LATEST_SCHEMA_VERSION,
      events: await eventCount(check),
      startedAt,
      finishedAt: new Date(),
      intakeLogPosition: await intakeLogPositionOf(check),
    };
  } finally {
    await check.close();
  }
}

interface Tombstones {
  salt: string | null;
  tombstones: { identifier_hash: string; deleted_at: Date }[];
  suppressions: { identifier_hash: string; reason: string | null; suppressed_at: Date }[];
}

async function tombstonesOf(wh: Warehouse): Promise<Tombstones> {
  const [salt] = await wh.query<{ value: string }>(
    `SELECT value FROM segflow_meta WHERE key = 'privacy_salt'`,
  );
  return {
    salt: salt?.value ?? null,
    tombstones: await wh.query('SELECT identifier_hash, deleted_at FROM privacy_tombstones'),
    suppressions: await wh.query('SELECT identifier_hash, reason, suppressed_at FROM suppressions'),
  };
}

/** Take the current database's tombstones into the restored one and delete whoever they name there. */
async function applyTombstones(wh: Warehouse, from: Tombstones): Promise<number> {
  if (from.salt === null) return 0; // nobody was ever deleted from the current database
  const [own] = await wh.query<{ value: string }>(
    `SELECT value FROM segflow_meta WHERE key = 'privacy_salt'`,
  );
  if (own && own.value !== from.salt) {
    throw new SegflowError(
      'BACKUP_INVALID',
      'the backup is of another database: its privacy salt differs from the current database’s',
      'restore a backup of this database, or pass --db with the database this backup was made from',
    );
  }
  if (!own) await wh.run(`INSERT INTO segflow_meta (key, value) VALUES ('privacy_salt', ?)`, [from.salt]);
  await wh.append(
    'privacy_tombstones',
    ['identifier_hash', 'deleted_at'],
    (await missing(wh, 'privacy_tombstones', from.tombstones)).map((t) => [t.identifier_hash, t.deleted_at]),
  );
  await wh.append(
    'suppressions',
    ['identifier_hash', 'reason', 'suppressed_at'],
    (await missing(wh, 'suppressions', from.suppressions)).map((s) => [
      s.identifier_hash,
      s.reason,
      s.suppressed_at,
    ]),
  );
  const d = wh.dialect;
  const named = await wh.query<{ identifier: string }>(
    `SELECT identifier FROM identities
     WHERE ${d.sha256Hex('? || identifier')} IN (SELECT identifier_hash FROM privacy_tombstones)
     ORDER BY identifier`,
    [from.salt],
  );
  let people = 0;
  for (const { identifier } of named) {
    // An earlier delete in this loop may have taken this identifier with its person already.
    const [still] = await wh.query('SELECT 1 FROM identities WHERE identifier = ?', [identifier]);
    if (!still) continue;
    const r = await deletePerson(
      wh,
      identifier,
      { actor: 'restore', source: 'restore' },
      { allMatching: true, identifyingTraits: [] },
    );
    people += r.persons;
  }
  return people;
}

/** The rows of `rows` whose identifier_hash `table` does not hold yet. */
async function missing<T extends { identifier_hash: string }>(
  wh: Warehouse,
  table: 'privacy_tombstones' | 'suppressions',
  rows: T[],
): Promise<T[]> {
  const have = new Set(
    (await wh.query<{ identifier_hash: string }>(`SELECT identifier_hash FROM ${table}`)).map(
      (r) => r.identifier_hash,
    ),
  );
  return rows.filter((r) => !have.has(r.identifier_hash));
}

/** segflow's restore brings back DuckDB files only: what to do instead when the database is ClickHouse. */
export function restoreRefusedOnClickHouse(location: string): SegflowError {
  return new SegflowError(
    'USAGE',
    `segflow restore brings back a DuckDB backup file and does not restore ClickHouse (${location})`,
    CLICKHOUSE_BACKUP_HINT,
  );
}

/**
 * Bring a backup back into a new file. `current` is the database the backup stands in for (open, e.g. the server's),
 * whose tombstones and suppressions are applied; without it none are (say so to the user).
 */
export async function restoreBackup(o: {
  backup: string;
  to: string;
  current?: Warehouse;
}): Promise<RestoreResult> {
  // A restore writes a DuckDB file from a DuckDB backup: with ClickHouse as the current database it would quietly
  // make a database nobody uses (and apply ClickHouse's tombstones to it).
  if (o.current && o.current.engine !== 'duckdb') throw restoreRefusedOnClickHouse(o.current.location);
  if (!existsSync(o.backup) || !statSync(o.backup).isFile()) {
    throw new SegflowError('BACKUP_INVALID', `no backup file at ${o.backup}`, 'check the path');
  }
  if (existsSync(o.to)) {
    throw new SegflowError(
      'BACKUP_INVALID',
      `${o.to} exists; a restore goes into a new file`,
      'name a file that does not exist yet, then point segflow at it (--db, or db: in segflow.config.yaml)',
    );
  }
  const backupSchemaVersion = await fileSchemaVersion(o.backup);
  if (backupSchemaVersion === null) {
    throw new SegflowError(
      'BACKUP_INVALID',
      `${o.backup} is not a segflow database`,
      'restore a file `segflow backup` wrote',
    );
  }
  if (backupSchemaVersion > LATEST_SCHEMA_VERSION) {
    throw new SegflowError(
      'BACKUP_INVALID',
      `${o.backup} has schema version ${backupSchemaVersion}; this segflow reads up to ${LATEST_SCHEMA_VERSION}`,
      'restore it with the segflow version that made it, or a newer one',
    );
  }
  const from = o.current ? await tombstonesOf(o.current) : null;
  const partial = `${o.to}.partial`;
  for (const leftover of [partial, `${partial}.wal`]) rmSync(leftover, { force: true });
  copyFileSync(o.backup, partial);
  try {
    // Opening migrates a backup of an older schema to this segflow's.
    const wh = await openWarehouse({ path: partial });
    let peopleDeletedAgain = 0;
    let events: number;
    try {
      if (from) peopleDeletedAgain = await applyTombstones(wh, from);
      events = await eventCount(wh);
    } finally {
      await wh.close();
    }
    // Deleted rows must not survive in the new file's freed blocks: erase before it is put in place.
    if (peopleDeletedAgain > 0) await eraseFromStorage({ dbPath: partial });
    renameSync(partial, o.to);
    return {
      file: o.to,
      backup: o.backup,
      backupSchemaVersion,
      schemaVersion: LATEST_SCHEMA_VERSION,
      events,
      tombstones: from ? from.tombstones.length : null,
      peopleDeletedAgain,
    };
  } catch (e) {
    rmSync(partial, { force: true });
    rmSync(`${partial}.wal`, { force: true });
    throw e;
  }
}
