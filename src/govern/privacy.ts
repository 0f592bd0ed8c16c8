import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { recordAudit } from './audit.js';

/**
 * Privacy requests. A delete removes everything held about a person — found by any of their identifiers — and
 * keeps only a tombstone: the salted SHA-256 of each identifier, so that late events and re-imports for them are
 * dropped at ingest. An export gathers everything held about them as JSON. A suppression keeps a person from ever
 * being messaged. The salt is random per database (segflow_meta), so tombstones cannot be matched across databases.
 */

/** Tables holding a person's rows by canonical person id (the Model, Segment, Activate and Measure steps). */
export const PERSON_ID_TABLES = [
  'features',
  'predictions',
  'person_scores',
  'segment_memberships',
  'segment_changes',
  'deliveries',
  'exposures',
] as const;

/** Tables holding a person's rows by identifier (Instrument). */
export const IDENTIFIER_TABLES = [
  'identity_activity',
  'identity_traits',
  'identity_consent',
  'account_members',
] as const;

export async function privacySalt(wh: Warehouse): Promise<string> {
  const [row] = await wh.query<{ value: string }>(
    `SELECT value FROM segflow_meta WHERE key = 'privacy_salt'`,
  );
  if (row) return row.value;
  const salt = randomBytes(16).toString('hex');
  await wh.run(
    `INSERT INTO segflow_meta (key, value) VALUES ('privacy_salt', ?) ON CONFLICT (key) DO NOTHING`,
    [salt],
  );
  const [again] = await wh.query<{ value: string }>(
    `SELECT value FROM segflow_meta WHERE key = 'privacy_salt'`,
  );
  return again!.value;
}

export function identifierHash(salt: string, identifier: string): string {
  return createHash('sha256')
    .update(salt + identifier)
    .digest('hex');
}

async function identifiersOf(
  wh: Warehouse,
  identifier: string,
): Promise<{ personId: string | null; ids: string[] }> {
  const [who] = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [identifier],
  );
  if (!who) return { personId: null, ids: [identifier] };
  const rows = await wh.query<{ identifier: string }>(
    'SELECT identifier FROM identities WHERE person_id = ? ORDER BY identifier',
    [who.person_id],
  );
  return { personId: who.person_id, ids: [...new Set([identifier, ...rows.map((r) => r.identifier)])] };
}

export interface DeleteResult {
  /** The tombstone of the identifier asked for (the only trace left). */
  tombstone: string;
  identifiers: number;
  rows: Record<string, number>;
  filesRewritten: number;
}

/** Delete a person by any identifier (see the module comment). */
export async function deletePerson(
  wh: Warehouse,
  identifier: string,
  actor: { actor: string; source?: string },
): Promise<DeleteResult> {
  const salt = await privacySalt(wh);
  const { personId, ids } = await identifiersOf(wh, identifier);
  const list = JSON.stringify(ids);
  const d = wh.dialect;
  const inIds = (col: string) => d.inTextList(col, '?');
  const rows: Record<string, number> = {};
  const files: string[] = [];
  const rejectFiles: string[] = [];
  const needles: string[] = [];
  let rewritten = 0;
  await wh.transaction(async (tx) => {
    const messageIds = (
      await tx.query<{ message_id: string }>(
        `SELECT message_id FROM events WHERE ${inIds('user_id')} OR ${inIds('anonymous_id')} OR ${inIds('previous_id')}`,
        [list, list, list],
      )
    ).map((r) => r.message_id);
    rows.events = await tx.run(
      `DELETE FROM events WHERE ${inIds('user_id')} OR ${inIds('anonymous_id')} OR ${inIds('previous_id')}`,
      [list, list, list],
    );
    rows.identity_edges = await tx.run(`DELETE FROM identity_edges WHERE ${inIds('a')} OR ${inIds('b')}`, [
      list,
      list,
    ]);
    for (const t of IDENTIFIER_TABLES)
      rows[t] = await tx.run(`DELETE FROM ${t} WHERE ${inIds('identifier')}`, [list]);
    if (personId) {
      for (const t of PERSON_ID_TABLES)
        rows[t] = await tx.run(`DELETE FROM ${t} WHERE person_id = ?`, [personId]);
      rows.identities = await tx.run('DELETE FROM identities WHERE person_id = ?', [personId]);
      rows.person_overrides = await tx.run('DELETE FROM person_overrides WHERE person_id = ?', [personId]);
    }
    // Rejected rows keep their raw text: drop any that mention one of the identifiers or deleted message ids.
    let rejected = 0;
    for (const needle of [...ids, ...messageIds]) {
      rejected += await tx.run(`DELETE FROM rejected_events WHERE ${d.textContains('raw', '?')}`, [needle]);
    }
    rows.rejected_events = rejected;
    // The audit log stays, pseudonymised: targets that named the person now carry the tombstone instead.
    for (const id of ids) {
      await tx.run('UPDATE audit_log SET target = ? WHERE target = ?', [identifierHash(salt, id), id]);
    }
    for (const id of ids) {
      await tx.run(
        'INSERT INTO privacy_tombstones (identifier_hash, deleted_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
        [identifierHash(salt, id), new Date()],
      );
    }
    for (const f of await tx.query<{ path: string }>('SELECT path FROM audience_exports')) files.push(f.path);
    for (const f of await tx.query<{ rejects_file: string }>(
      'SELECT DISTINCT rejects_file FROM import_runs WHERE rejects_file IS NOT NULL',
    )) {
      rejectFiles.push(f.rejects_file);
    }
    needles.push(...ids, ...messageIds);
  });
  // Rejects files written by imports: lines that mention the person go.
  for (const path of rejectFiles) {
    if (!existsSync(path)) continue;
    const lines = readFileSync(path, 'utf8').split('\n');
    const kept = lines.filter((l) => !needles.some((n) => l.includes(n)));
    if (kept.length !== lines.length) {
      writeFileSync(`${path}.rewrite`, kept.join('\n'));
      renameSync(`${path}.rewrite`, path);
      rewritten++;
    }
  }
  // Audience files segflow wrote: rewritten without the person's rows (by the engine, then renamed into place).
  if (personId) {
    for (const path of files) {
      if (!existsSync(path)) continue;
      const format = path.endsWith('.parquet') ? 'parquet' : 'csv';
      const source =
        format === 'parquet' ? d.readParquet('?') : d.readCsv('?', { header: true, inferTypes: true });
      const [hit] = await wh.query<{ n: number }>(
        `SELECT count(*) AS n FROM ${source} WHERE CAST(person_id AS VARCHAR) = ?`,
        [path, personId],
      );
      if (!Number(hit?.n)) continue;
      const tmp = `${path}.rewrite`;
      await wh.exportToFile(
        `SELECT * FROM ${source} WHERE CAST(person_id AS VARCHAR) <> ?`,
        [path, personId],
        {
          path: tmp,
          format,
        },
      );
      renameSync(tmp, path);
      rewritten++;
    }
  }
  const tombstone = identifierHash(salt, identifier);
  await recordAudit(wh, {
    ...actor,
    action: 'privacy.delete',
    target: tombstone,
    detail: { identifiers: ids.length },
  });
  return { tombstone, identifiers: ids.length, rows, filesRewritten: rewritten };
}

/** Everything held about a person, by any identifier (an access request). */
export async function exportPerson(
  wh: Warehouse,
  identifier: string,
  actor: { actor: string; source?: string },
): Promise<Record<string, unknown>> {
  const { personId, ids } = await identifiersOf(wh, identifier);
  if (!personId) {
    throw new SegflowError('NOT_FOUND', `no person with identifier '${identifier}'`, 'check the identifier');
  }
  const list = JSON.stringify(ids);
  const d = wh.dialect;
  const q = (sql: string, params: (string | number)[]) => wh.query<Record<string, unknown>>(sql, params);
  const out: Record<string, unknown> = {
    person_id: personId,
    identifiers: ids,
    exported_at: new Date().toISOString(),
    events: await q(
      `SELECT * EXCLUDE (ingest_batch) FROM events WHERE ${d.inTextList('user_id', '?')} OR ${d.inTextList('anonymous_id', '?')} ORDER BY ts`,
      [list, list],
    ),
    traits: await q(
      `SELECT identifier, key, value, ts FROM identity_traits WHERE ${d.inTextList('identifier', '?')}`,
      [list],
    ),
    consent: await q(
      `SELECT identifier, purpose, granted, ts FROM identity_consent WHERE ${d.inTextList('identifier', '?')}`,
      [list],
    ),
    accounts: await q(
      `SELECT group_id, first_seen FROM account_members WHERE ${d.inTextList('identifier', '?')}`,
      [list],
    ),
  };
  for (const t of PERSON_ID_TABLES) out[t] = await q(`SELECT * FROM ${t} WHERE person_id = ?`, [personId]);
  await recordAudit(wh, { ...actor, action: 'privacy.export', target: identifier });
  return JSON.parse(JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))) as Record<
    string,
    unknown
  >;
}

/** Never message this person again (all their identifiers, by hash). */
export async function suppressPerson(
  wh: Warehouse,
  identifier: string,
  reason: string | null,
  actor: { actor: string; source?: string },
): Promise<{ identifiers: number }> {
  const salt = await privacySalt(wh);
  const { ids } = await identifiersOf(wh, identifier);
  for (const id of ids) {
    await wh.run(
      'INSERT INTO suppressions (identifier_hash, reason, suppressed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [identifierHash(salt, id), reason, new Date()],
    );
  }
  await recordAudit(wh, { ...actor, action: 'privacy.suppress', target: identifier, detail: { reason } });
  return { identifiers: ids.length };
}
