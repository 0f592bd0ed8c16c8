import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { loadConfig } from '../config/config.js';
import type { TableDef } from '../engine/dialect.js';
import * as SCHEMA from '../engine/schema.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { recordAudit } from './audit.js';
import { recordPrivacyRequest } from './erasure.js';
import { findPeople, privacyConfig, resolvePeople } from './find-people.js';

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
  'activity_person_days',
] as const;

/** Tables holding a person's rows by identifier (Instrument). */
export const IDENTIFIER_TABLES = [
  'identity_activity',
  'identity_traits',
  'identity_emails',
  'identity_consent',
  'consent_history',
  'account_members',
] as const;

export async function privacySalt(wh: Warehouse): Promise<string> {
  const [row] = await wh.query<{ value: string }>(
    `SELECT value FROM segflow_meta WHERE key = 'privacy_salt'`,
  );
  if (row) return row.value;
  const salt = randomBytes(16).toString('hex');
  await wh.storage.upsert({
    table: 'segflow_meta',
    columns: ['key', 'value'],
    key: ['key'],
    from: { rows: [['privacy_salt', salt]] },
  });
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

/** How a privacy request names people (see find-people.ts) and what to do with several or none. */
export interface PrivacyRequestOptions {
  /** Act on every person the identifier matches (several people can share an email). */
  allMatching?: boolean;
  /** Traits whose values find people (default: `privacy.identifyingTraits`, else email and phone). */
  identifyingTraits?: readonly string[];
}

export interface DeleteOptions extends PrivacyRequestOptions {
  /** Nobody has the identifier yet: only record its tombstone, so it is dropped if it ever arrives. */
  tombstoneOnly?: boolean;
}

export const DeleteResultSchema = z
  .object({
    tombstone: z.string().describe('the tombstone of the identifier asked for (the only trace left)'),
    persons: z.int().describe('how many people were deleted (0 with tombstoneOnly)'),
    identifiers: z.number(),
    rows: z.record(z.string(), z.number()).describe('table → rows deleted'),
    filesRewritten: z.number(),
    requestId: z
      .int()
      .describe(
        'the privacy request; its erasure from storage shows in privacy status / /api/v1/privacy/requests',
      ),
  })
  .meta({ id: 'DeleteResult' });
export type DeleteResult = z.output<typeof DeleteResultSchema>;

/** A stored row in an export: column → value as JSON. */
const ExportRow = z.record(z.string(), z.json());

/** Everything held about a person (an access request): their rows of every table that holds personal data. */
export const PersonExportSchema = z
  .object({
    person_id: z.string(),
    identifiers: z.array(z.string()),
    exported_at: z.iso.datetime(),
    events: z.array(ExportRow),
    traits: z.array(ExportRow),
    consent: z.array(ExportRow),
    accounts: z.array(ExportRow),
  })
  .catchall(z.array(ExportRow).describe("the person's rows of a table keyed by person_id"))
  .meta({ id: 'PersonExport' });
export type PersonExport = z.output<typeof PersonExportSchema>;

/** An access request's answer: one person's export, or each person's when the identifier matched several. */
export const PrivacyExportSchema = z
  .union([
    PersonExportSchema,
    z.object({ exported_at: z.iso.datetime(), people: z.array(PersonExportSchema) }),
  ])
  .meta({ id: 'PrivacyExport' });
export type PrivacyExport = z.output<typeof PrivacyExportSchema>;

/** Delete everyone the identifier names (see the module comment and find-people.ts). */
export async function deletePerson(
  wh: Warehouse,
  identifier: string,
  actor: { actor: string; source?: string },
  options: DeleteOptions = {},
): Promise<DeleteResult> {
  const salt = await privacySalt(wh);
  const tombstone = identifierHash(salt, identifier);
  if (options.tombstoneOnly) {
    const people = await findPeople(wh, { identifier, ...traitsOption(options) });
    if (people.length) {
      throw new SegflowError(
        'USAGE',
        `'${identifier}' already names ${people.length} ${people.length === 1 ? 'person' : 'people'}; --tombstone-only is for identifiers nobody has yet`,
        'delete without --tombstone-only to delete them',
      );
    }
    await wh.storage.upsert({
      table: 'privacy_tombstones',
      columns: ['identifier_hash', 'deleted_at'],
      key: ['identifier_hash'],
      from: { rows: [[tombstone, new Date()]] },
    });
    const requestId = await recordPrivacyRequest(wh, { kind: 'tombstone', tombstone, persons: 0 });
    await recordAudit(wh, { ...actor, action: 'privacy.tombstone', target: tombstone });
    return { tombstone, persons: 0, identifiers: 1, rows: {}, filesRewritten: 0, requestId };
  }
  const people = await resolvePeople(wh, { identifier, ...options, ...traitsOption(options) });
  const total: DeleteResult = {
    tombstone,
    persons: people.length,
    identifiers: 0,
    rows: {},
    filesRewritten: 0,
    requestId: 0,
  };
  for (const p of people) {
    const r = await deleteOne(wh, salt, p.personId, p.identifiers, identifier);
    total.identifiers += r.identifiers;
    total.filesRewritten += r.filesRewritten;
    for (const [t, n] of Object.entries(r.rows)) total.rows[t] = (total.rows[t] ?? 0) + n;
  }
  total.requestId = await recordPrivacyRequest(wh, { kind: 'delete', tombstone, persons: people.length });
  await recordAudit(wh, {
    ...actor,
    action: 'privacy.delete',
    target: tombstone,
    detail: { persons: people.length, identifiers: total.identifiers },
  });
  return total;
}

function traitsOption(o: PrivacyRequestOptions): { identifyingTraits: readonly string[] } {
  return {
    identifyingTraits: o.identifyingTraits ?? privacyConfig(loadConfig().privacy).identifyingTraits,
  };
}

async function deleteOne(
  wh: Warehouse,
  salt: string,
  personId: string,
  identifiers: readonly string[],
  requested: string,
): Promise<{ identifiers: number; rows: Record<string, number>; filesRewritten: number }> {
  const ids = [...new Set(identifiers)];
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
    // Trait values (an email, a name) appear in rejected rows and files too: they are needles as well.
    const traitValues = (
      await tx.query<{ v: string | null }>(
        `SELECT DISTINCT ${d.jsonText('value', "'$'")} AS v FROM identity_traits WHERE ${inIds('identifier')}`,
        [list],
      )
    )
      .map((r) => r.v)
      .filter((v): v is string => typeof v === 'string' && v.length >= 4);
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
    for (const t of PERSON_ID_TABLES)
      rows[t] = await tx.run(`DELETE FROM ${t} WHERE person_id = ?`, [personId]);
    rows.identities = await tx.run('DELETE FROM identities WHERE person_id = ?', [personId]);
    rows.person_overrides = await tx.run('DELETE FROM person_overrides WHERE person_id = ?', [personId]);
    rows.person_merges = await tx.run('DELETE FROM person_merges WHERE person_id = ?', [personId]);
    // Rejected rows keep their raw text: drop any that mention one of the identifiers or deleted message ids.
    let rejected = 0;
    for (const needle of [...ids, ...messageIds, ...traitValues]) {
      rejected += await tx.run(`DELETE FROM rejected_events WHERE ${d.textContains('raw', '?')}`, [needle]);
    }
    rows.rejected_events = rejected;
    // The audit log stays, pseudonymised: targets that named the person now carry the tombstone instead.
    for (const id of new Set([...ids, requested, ...traitValues])) {
      await tx.run('UPDATE audit_log SET target = ? WHERE target = ?', [identifierHash(salt, id), id]);
    }
    for (const id of ids) {
      await tx.storage.upsert({
        table: 'privacy_tombstones',
        columns: ['identifier_hash', 'deleted_at'],
        key: ['identifier_hash'],
        from: { rows: [[identifierHash(salt, id), new Date()]] },
      });
    }
    for (const f of await tx.query<{ path: string }>('SELECT path FROM audience_exports')) files.push(f.path);
    for (const f of await tx.query<{ rejects_file: string }>(
      'SELECT DISTINCT rejects_file FROM import_runs WHERE rejects_file IS NOT NULL',
    )) {
      rejectFiles.push(f.rejects_file);
    }
    needles.push(...ids, ...messageIds, ...traitValues);
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
    await wh.exportToFile(`SELECT * FROM ${source} WHERE CAST(person_id AS VARCHAR) <> ?`, [path, personId], {
      path: tmp,
      format,
    });
    renameSync(tmp, path);
    rewritten++;
  }
  return { identifiers: ids.length, rows, filesRewritten: rewritten };
}

/**
 * Everything held about a person (an access request). One person: their export. Several (only with allMatching):
 * `{ exported_at, people: [export, …] }`.
 */
export async function exportPerson(
  wh: Warehouse,
  identifier: string,
  actor: { actor: string; source?: string },
  options: PrivacyRequestOptions = {},
): Promise<PrivacyExport> {
  const people = await resolvePeople(wh, { identifier, ...options, ...traitsOption(options) });
  const exports: Record<string, unknown>[] = [];
  for (const p of people) exports.push(await exportOne(wh, p.personId, p.identifiers));
  await recordAudit(wh, { ...actor, action: 'privacy.export', target: identifier });
  const out = exports.length === 1 ? exports[0]! : { exported_at: new Date().toISOString(), people: exports };
  return PrivacyExportSchema.parse(
    JSON.parse(JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))),
  );
}

async function exportOne(
  wh: Warehouse,
  personId: string,
  ids: readonly string[],
): Promise<Record<string, unknown>> {
  const list = JSON.stringify(ids);
  const d = wh.dialect;
  const q = (sql: string, params: (string | number)[]) => wh.query<Record<string, unknown>>(sql, params);
  const out: Record<string, unknown> = {
    person_id: personId,
    identifiers: ids,
    exported_at: new Date().toISOString(),
    events: await q(
      `SELECT ${d.allColumnsExcept(['ingest_batch'])} FROM events WHERE ${d.inTextList('user_id', '?')} OR ${d.inTextList('anonymous_id', '?')} ORDER BY ts`,
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
    consent_history: await q(
      `SELECT identifier, purpose, granted, ts FROM consent_history WHERE ${d.inTextList('identifier', '?')} ORDER BY ts`,
      [list],
    ),
    accounts: await q(
      `SELECT group_id, first_seen FROM account_members WHERE ${d.inTextList('identifier', '?')}`,
      [list],
    ),
  };
  for (const t of PERSON_ID_TABLES) out[t] = await q(`SELECT * FROM ${t} WHERE person_id = ?`, [personId]);
  out.events = withJsonValues('events', out.events as Record<string, unknown>[]);
  out.traits = withJsonValues('identity_traits', out.traits as Record<string, unknown>[]);
  for (const t of PERSON_ID_TABLES) out[t] = withJsonValues(t, out[t] as Record<string, unknown>[]);
  return out;
}

/** Each table's JSON columns (properties, traits, context, …), read from the schema's table definitions. */
const JSON_COLUMNS: ReadonlyMap<string, readonly string[]> = new Map(
  Object.values(SCHEMA as Record<string, unknown>)
    .filter((v): v is TableDef => typeof v === 'object' && v !== null && 'name' in v && 'columns' in v)
    .map((t) => [t.name, t.columns.filter((c) => c.type === 'json').map((c) => c.name)]),
);

/**
 * Rows with their JSON columns as JSON values: the engine returns them as text, and an export that carries
 * `"properties": "{\"plan\":\"pro\"}"` — JSON inside a string inside JSON — is hard to read for the person who asked.
 */
function withJsonValues(table: string, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const columns = JSON_COLUMNS.get(table) ?? [];
  if (columns.length === 0) return rows;
  return rows.map((row) => {
    const decoded = { ...row };
    for (const c of columns) {
      if (typeof decoded[c] === 'string') decoded[c] = JSON.parse(decoded[c] as string) as unknown;
    }
    return decoded;
  });
}

/** Never message these people again (all their identifiers, by hash). */
export async function suppressPerson(
  wh: Warehouse,
  identifier: string,
  reason: string | null,
  actor: { actor: string; source?: string },
  options: PrivacyRequestOptions = {},
): Promise<{ persons: number; identifiers: number }> {
  const salt = await privacySalt(wh);
  const people = await resolvePeople(wh, { identifier, ...options, ...traitsOption(options) });
  const ids = [...new Set(people.flatMap((p) => p.identifiers))];
  for (const id of ids) {
    await wh.storage.upsert({
      table: 'suppressions',
      columns: ['identifier_hash', 'reason', 'suppressed_at'],
      key: ['identifier_hash'],
      from: { rows: [[identifierHash(salt, id), reason, new Date()]] },
    });
  }
  await recordAudit(wh, { ...actor, action: 'privacy.suppress', target: identifier, detail: { reason } });
  return { persons: people.length, identifiers: ids.length };
}
