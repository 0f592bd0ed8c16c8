import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { workingDir } from '../../config/working-dir.js';
import type { Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import { Timestamp } from '../../shared/timestamp.js';

/**
 * Audience files for ad networks and CRMs: a segment's current members (full), or who joined and who left since the
 * last export of that segment (delta: `action` add / remove), as CSV or Parquet written by the engine. Columns:
 * person_id, then each requested trait; `email_sha256` is the lowercased, trimmed email hashed with SHA-256, the
 * form ad networks match on. Every file written is recorded in `audience_exports` (so the next delta knows where
 * the last one ended, and privacy deletes can find the files).
 */
export interface AudienceExportOptions {
  segment: string;
  format: 'csv' | 'parquet';
  mode: 'full' | 'delta';
  dir: string;
  /** Traits to include as columns (latest value), e.g. ['email', 'first_name']. */
  traits?: readonly string[];
  /** Add email_sha256 (from the `email` trait). */
  hashedEmail?: boolean;
  asOf?: Date;
}

export const AudienceExportSchema = z
  .object({
    id: z.number(),
    segment: z.string(),
    format: z.enum(['csv', 'parquet']),
    mode: z.enum(['full', 'delta']),
    path: z.string(),
    rows: z.number(),
    sinceSeq: z.number(),
    untilSeq: z.number(),
    asOf: Timestamp,
  })
  .meta({ id: 'AudienceExport' });
export type AudienceExport = z.output<typeof AudienceExportSchema>;

function safeName(text: string): string {
  return text.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export async function exportAudience(wh: Warehouse, o: AudienceExportOptions): Promise<AudienceExport> {
  const asOf = o.asOf ?? new Date();
  const d = wh.dialect;
  const [known] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM segments WHERE name = ?', [
    o.segment,
  ]);
  if (!Number(known?.n)) {
    throw new SegflowError(
      'NOT_FOUND',
      `no segment '${o.segment}'`,
      'refresh segments first (`segflow refresh`), and check the name with `segflow segments report`',
    );
  }
  const [last] = await wh.query<{ until_seq: number | null }>(
    `SELECT max(until_seq) AS until_seq FROM audience_exports WHERE segment = ?`,
    [o.segment],
  );
  const sinceSeq = o.mode === 'delta' ? Number(last?.until_seq ?? 0) : 0;
  const [top] = await wh.query<{ seq: number | null }>(
    'SELECT max(seq) AS seq FROM segment_changes WHERE changed_at <= ?',
    [asOf],
  );
  const untilSeq = Number(top?.seq ?? 0);
  const traits = o.traits ?? [];
  // Placeholders in text order: the trait columns come before the member relation.
  const params: (string | number | Date)[] = [];
  const traitColumns = traits.map((t) => {
    params.push(t);
    return `(SELECT ${d.argMax(d.jsonText('t.value', "'$'"), '(t.ts, t.message_id)')} FROM identity_traits t
      JOIN identities i ON i.identifier = t.identifier WHERE i.person_id = m.person_id AND t.key = ?) AS ${d.quoteIdent(t)}`;
  });
  const email = o.hashedEmail
    ? `, (SELECT lower(trim(${d.argMax(d.jsonText('t.value', "'$'"), '(t.ts, t.message_id)')})) FROM identity_traits t
      JOIN identities i ON i.identifier = t.identifier WHERE i.person_id = m.person_id AND t.key = 'email') AS __email`
    : '';
  let members: string;
  if (o.mode === 'full') {
    members = `SELECT DISTINCT person_id, 'add' AS action FROM segment_memberships
      WHERE segment = ? AND entered_at <= ? AND (exited_at IS NULL OR exited_at > ?)`;
    params.push(o.segment, asOf, asOf);
  } else {
    // The net change of each person since the last export: their last change in (since, until].
    members = `SELECT person_id, CASE WHEN change = 'enter' THEN 'add' ELSE 'remove' END AS action FROM (
      SELECT person_id, change, row_number() OVER (PARTITION BY person_id ORDER BY seq DESC) AS k
      FROM segment_changes WHERE segment = ? AND seq > ? AND seq <= ?) WHERE k = 1`;
    params.push(o.segment, sinceSeq, untilSeq);
  }
  const dir = resolve(workingDir(), o.dir);
  mkdirSync(dir, { recursive: true });
  const [{ id: prev } = { id: 0 }] = await wh.query<{ id: number | null }>(
    'SELECT max(id) AS id FROM audience_exports',
  );
  const id = Number(prev ?? 0) + 1;
  const path = join(
    dir,
    `${safeName(o.segment)}-${o.mode}-${asOf.toISOString().replace(/[:.]/g, '-')}-${id}.${o.format}`,
  );
  const select = `SELECT m.person_id${o.mode === 'delta' ? ', m.action' : ''}${traitColumns.length ? `, ${traitColumns.join(', ')}` : ''}${email}
    FROM (${members}) m ORDER BY m.person_id`;
  // SHA-256 in JavaScript keeps the hash identical across engines: the rows are staged in a scratch relation, their
  // emails hashed here and joined back in a second one.
  await wh.storage.createScratch({ name: '_sf_audience', select, params });
  let exported = 'SELECT * FROM _sf_audience';
  if (o.hashedEmail) {
    const emails = await wh.query<{ person_id: string; __email: string }>(
      'SELECT person_id, __email FROM _sf_audience WHERE __email IS NOT NULL',
    );
    await wh.storage.createScratch({
      name: '_sf_audience_hashes',
      columns: [
        ['person_id', 'text'],
        ['email_sha256', 'text'],
      ],
      rows: emails.map((e) => [e.person_id, createHash('sha256').update(e.__email).digest('hex')]),
    });
    exported = `SELECT ${d.allColumnsExcept(['__email'])} FROM (SELECT a.*, h.email_sha256 FROM _sf_audience a
      LEFT JOIN _sf_audience_hashes h ON h.person_id = a.person_id)`;
  }
  const rows = await wh.exportToFile(`${exported} ORDER BY person_id`, [], { path, format: o.format });
  await wh.storage.dropScratch('_sf_audience');
  await wh.storage.dropScratch('_sf_audience_hashes');
  await wh.run(
    `INSERT INTO audience_exports (id, segment, format, mode, path, rows, since_seq, until_seq, as_of, written_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [id, o.segment, o.format, o.mode, path, rows, sinceSeq, untilSeq, asOf, new Date()],
  );
  return { id, segment: o.segment, format: o.format, mode: o.mode, path, rows, sinceSeq, untilSeq, asOf };
}

export async function listAudienceExports(wh: Warehouse): Promise<AudienceExport[]> {
  const rows = await wh.query<{
    id: number;
    segment: string;
    format: 'csv' | 'parquet';
    mode: 'full' | 'delta';
    path: string;
    rows: number;
    since_seq: number;
    until_seq: number;
    as_of: Date;
  }>('SELECT * FROM audience_exports ORDER BY id DESC');
  return rows.map((r) => ({
    id: Number(r.id),
    segment: r.segment,
    format: r.format,
    mode: r.mode,
    path: r.path,
    rows: Number(r.rows),
    sinceSeq: Number(r.since_seq),
    untilSeq: Number(r.until_seq),
    asOf: r.as_of,
  }));
}
