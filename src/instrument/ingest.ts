import type { Dialect } from '../engine/dialect.js';
import type { SqlValue, Warehouse } from '../engine/warehouse.js';
import { updateIdentityGraph } from './identity-graph.js';
import { updateProfileFacts } from './profile-facts.js';
import { MAX_EVENT_BYTES, MESSAGE_TYPES, PLACEHOLDER_IDS, REVENUE_PROPERTIES } from './segment-spec.js';

/**
 * The one ingestion pipeline. Every way events arrive (file import, collector batches, library calls) first lands
 * rows in a stage relation of JSON fields; from there this module validates them in SQL (every problem, located by
 * JSON path), derives the event time, revenue and missing message ids, drops duplicates, appends to `events`, and
 * updates the identity graph and profile facts — all in the caller's transaction, so a batch lands whole or not at all.
 */

/** The top-level message fields read from each input row. */
export const STAGE_FIELDS = [
  'type',
  'event',
  'name',
  'messageId',
  'userId',
  'anonymousId',
  'groupId',
  'previousId',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'receivedAt',
  'properties',
  'traits',
  'context',
  'integrations',
] as const;
export type StageField = (typeof STAGE_FIELDS)[number];

/** Temp tables used during one ingest; the connection is serialized, so fixed names cannot collide. */
export const RAW_TABLE = '_sf_raw';
const STAGE = '_sf_stage';
const CHECKED = '_sf_checked';
export const NEW_EVENTS = '_sf_new';

export interface IngestCounts {
  /** Rows read from the source. */
  received: number;
  /** New events stored. */
  inserted: number;
  /** Valid events whose messageId was already stored (or repeated within the batch): no-ops, counted. */
  duplicates: number;
  /** Rows that failed validation: kept in rejected_events with their problems. */
  rejected: number;
}

export interface RejectedRow {
  rowNo: number | null;
  messageId: string | null;
  problems: string[];
  raw: string | null;
}

export interface IngestOptions {
  /** Where the rows came from, recorded with rejects: 'import:<file>', 'collector', … */
  source: string;
  /** When the batch was received; used as receivedAt for rows that carry none. Default: now. */
  receivedAt?: Date;
  /** Called with the rejected rows (in batches) before the stage is dropped, e.g. to write a rejects file. */
  onRejected?: (rows: RejectedRow[]) => Promise<void> | void;
}

function lit(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Stage from a table of raw JSON texts (`row_no`, `raw`): one parse per row, and non-JSON rows kept for rejection.
 */
export function stageFromRawSql(d: Dialect, rawTable: string): string {
  const list = d.jsonFieldList('raw', STAGE_FIELDS);
  const fields = STAGE_FIELDS.map((f, i) => `${d.nullIfJsonNull(d.listItem('l', i))} AS ${d.quoteIdent(f)}`);
  return `CREATE TEMP TABLE ${STAGE} AS
    SELECT row_no, raw, is_object, CAST(NULL AS VARCHAR[]) AS source_problems, ${fields.join(', ')}
    FROM (SELECT row_no, raw, ${d.textIsJsonObject('raw')} AS is_object, ${list} AS l FROM ${rawTable})`;
}

/**
 * Stage from a relation that already has the JSON fields as columns (a file reader, a mapped CSV): `source` must
 * yield `row_no` and the STAGE_FIELDS columns as JSON; with `sourceProblems`, also a `source_problems` text array
 * (conversion failures a mapping found, e.g. a price that is not a number).
 */
export function stageFromFieldsSql(
  d: Dialect,
  source: string,
  options: { sourceProblems?: boolean } = {},
): string {
  const fields = STAGE_FIELDS.map((f) => `${d.nullIfJsonNull(d.quoteIdent(f))} AS ${d.quoteIdent(f)}`);
  const problems = options.sourceProblems ? 'source_problems' : 'CAST(NULL AS VARCHAR[]) AS source_problems';
  return `CREATE TEMP TABLE ${STAGE} AS SELECT row_no, CAST(NULL AS VARCHAR) AS raw, TRUE AS is_object, ${problems}, ${fields.join(', ')} FROM (${source})`;
}

/** The validation and normalisation query: one row per staged row with its problems and typed fields. */
function checkedSql(d: Dialect): string {
  const q = d.quoteIdent;
  const kind = (f: StageField) => d.jsonKind(q(f));
  const text = (f: StageField) => d.jsonText(q(f), "'$'");
  const isIdKind = (f: StageField) => `${kind(f)} IN ('string', 'number')`;
  const idText = (f: StageField) => `CASE WHEN ${isIdKind(f)} THEN ${text(f)} END`;
  const placeholders = `(${PLACEHOLDER_IDS.map(lit).join(', ')})`;
  const usable = (e: string) => `CASE WHEN lower(trim(${e})) NOT IN ${placeholders} THEN ${e} END`;
  const shown = (e: string) => `'''' || left(${e}, 80) || ''''`;
  const types = MESSAGE_TYPES.join(', ');
  const tsFields = ['timestamp', 'originalTimestamp', 'sentAt', 'receivedAt'] as const;
  const objectFields = ['properties', 'traits', 'context', 'integrations'] as const;
  const sizeFields = ['properties', 'traits', 'context'] as const;
  const jsonSize = objectFields.map((f) => `coalesce(${d.jsonLength(q(f))}, 0)`).join(' + ');

  const problems = [
    `CASE WHEN NOT is_object THEN '$: ' || CASE WHEN raw IS NOT NULL AND NOT ${d.textIsJson('raw')} THEN 'not valid JSON' ELSE 'not a JSON object' END || '; each row must be one Segment message object, e.g. {"type":"track","event":"Signed Up","userId":"u1"}' END`,
    `CASE WHEN is_object AND "type" IS NULL THEN '$.type: missing; set it to one of ${types}' END`,
    `CASE WHEN is_object AND "type" IS NOT NULL AND (${kind('type')} <> 'string' OR ${text('type')} NOT IN (${MESSAGE_TYPES.map(lit).join(', ')})) THEN '$.type: ' || ${shown(text('type'))} || ' is not a message type; use one of ${types}' END`,
    ...(['userId', 'anonymousId', 'groupId', 'previousId', 'messageId'] as const).map(
      (f) =>
        `CASE WHEN is_object AND ${q(f)} IS NOT NULL AND NOT ${isIdKind(f)} THEN '$.${f}: must be a string (got ' || ${kind(f)} || ')' END`,
    ),
    `CASE WHEN is_object AND uid IS NULL AND aid IS NULL THEN CASE
        WHEN uid_raw IS NOT NULL THEN '$.userId: ' || ${shown('uid_raw')} || ' is a placeholder, not an identifier, and there is no anonymousId; send the real user id'
        WHEN aid_raw IS NOT NULL THEN '$.anonymousId: ' || ${shown('aid_raw')} || ' is a placeholder, not an identifier, and there is no userId; send a real id'
        ELSE '$: neither userId nor anonymousId is set; every message needs at least one' END END`,
    `CASE WHEN t = 'track' AND (${kind('event')} IS DISTINCT FROM 'string' OR trim(${text('event')}) = '') THEN '$.event: a track call needs the event name as a non-empty string' END`,
    `CASE WHEN t IN ('page', 'screen') AND "name" IS NOT NULL AND ${kind('name')} <> 'string' THEN '$.name: must be a string (got ' || ${kind('name')} || ')' END`,
    `CASE WHEN t = 'alias' AND prev IS NULL THEN '$.previousId: an alias call needs previousId, the id being merged into userId' END`,
    `CASE WHEN t = 'alias' AND uid IS NULL THEN '$.userId: an alias call needs userId, the id previousId is merged into' END`,
    `CASE WHEN t = 'group' AND gid IS NULL THEN '$.groupId: a group call needs groupId, the account id' END`,
    ...tsFields.map(
      (f) =>
        `CASE WHEN is_object AND ${q(f)} IS NOT NULL AND (${kind(f)} <> 'string' OR ${d.parseTimestamp(text(f))} IS NULL) THEN '$.${f}: ' || ${shown(text(f))} || ' is not an ISO-8601 date-time; send e.g. 2026-01-31T09:30:00.000Z' END`,
    ),
    ...objectFields.map(
      (f) =>
        `CASE WHEN is_object AND ${q(f)} IS NOT NULL AND ${kind(f)} <> 'object' THEN '$.${f}: must be an object (got ' || ${kind(f)} || ')' END`,
    ),
    ...sizeFields.map(
      (f) =>
        `CASE WHEN ${d.jsonLength(q(f))} > ${MAX_EVENT_BYTES} THEN '$.${f}: ' || ${d.jsonLength(q(f))} || ' bytes is over the limit of ${MAX_EVENT_BYTES} bytes per event; send less data' END`,
    ),
    `CASE WHEN ${sizeFields.map((f) => `coalesce(${d.jsonLength(q(f))}, 0) <= ${MAX_EVENT_BYTES}`).join(' AND ')} AND coalesce(length(raw), ${jsonSize}) > ${MAX_EVENT_BYTES} THEN '$: the message is ' || coalesce(length(raw), ${jsonSize}) || ' bytes, over the limit of ${MAX_EVENT_BYTES} bytes per event; send less data' END`,
  ];

  const parsed = (f: (typeof tsFields)[number]) =>
    `CASE WHEN ${kind(f)} = 'string' THEN ${d.parseTimestamp(text(f))} END`;
  const revenue = REVENUE_PROPERTIES.map((p) => {
    const v = d.jsonValue('properties', `'$."${p}"'`);
    return `CASE WHEN ${d.jsonKind(v)} IN ('number', 'string') THEN ${d.toDouble(d.jsonText(v, "'$'"))} END`;
  });

  return `CREATE TEMP TABLE ${CHECKED} AS
    WITH base AS (
      SELECT *, ${idText('userId')} AS uid_raw, ${idText('anonymousId')} AS aid_raw,
             ${idText('groupId')} AS gid, ${idText('previousId')} AS prev,
             CASE WHEN ${kind('type')} = 'string' THEN ${text('type')} END AS t
      FROM ${STAGE}),
    ids AS (SELECT *, ${usable('uid_raw')} AS uid, ${usable('aid_raw')} AS aid FROM base),
    checked AS (
      SELECT *, ${d.concatArrays('source_problems', d.compactArray(problems))} AS problems,
             ${parsed('timestamp')} AS p_ts, ${parsed('originalTimestamp')} AS p_ot, ${parsed('sentAt')} AS p_sa,
             coalesce(${parsed('receivedAt')}, CAST(? AS TIMESTAMP)) AS p_ra
      FROM ids)
    SELECT row_no,
      CASE WHEN ${d.arrayLength('problems')} > 0 THEN coalesce(raw, CAST(${d.jsonObject(STAGE_FIELDS.map((f) => [f, q(f)]))} AS VARCHAR)) END AS raw,
      problems,
      ${idText('messageId')} AS message_id,
      t AS type,
      CASE WHEN t = 'track' THEN ${text('event')} END AS event,
      CASE WHEN t IN ('page', 'screen') AND ${kind('name')} = 'string' THEN ${text('name')} END AS name,
      uid AS user_id, aid AS anonymous_id, gid AS group_id, prev AS previous_id,
      coalesce(p_ts, CASE WHEN p_ot IS NOT NULL AND p_sa IS NOT NULL THEN ${d.skewCorrected('p_ra', 'p_sa', 'p_ot')} END, p_ot, p_ra) AS ts,
      p_ot AS original_timestamp, p_sa AS sent_at, p_ra AS received_at,
      CASE WHEN t IN ('track', 'page', 'screen') THEN properties END AS properties,
      CASE WHEN t IN ('identify', 'group') THEN traits END AS traits,
      context, integrations,
      coalesce(${revenue.join(', ')}) AS revenue
    FROM checked`;
}

const EVENT_COLUMNS = [
  'message_id',
  'type',
  'event',
  'name',
  'user_id',
  'anonymous_id',
  'group_id',
  'previous_id',
  'ts',
  'original_timestamp',
  'sent_at',
  'received_at',
  'properties',
  'traits',
  'context',
  'integrations',
  'revenue',
] as const;

async function count(wh: Warehouse, sql: string, params: readonly SqlValue[] = []): Promise<number> {
  const rows = await wh.query<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Drop the temp tables of an ingest (also after a failure, so the next ingest on this connection starts clean). */
export async function dropStage(tx: Warehouse): Promise<void> {
  for (const t of [RAW_TABLE, STAGE, CHECKED, NEW_EVENTS]) await tx.run(`DROP TABLE IF EXISTS ${t}`);
}

/**
 * Run the pipeline over the current stage (built by stageFromRawSql or stageFromFieldsSql inside `tx`).
 * Call inside a transaction.
 */
export async function ingestStage(tx: Warehouse, options: IngestOptions): Promise<IngestCounts> {
  const d = tx.dialect;
  const receivedAt = options.receivedAt ?? new Date();
  await tx.run(checkedSql(d), [receivedAt]);

  // Rows without a messageId get a stable one: a digest of their content plus their rank among identical rows, so
  // re-importing the same file adds nothing while genuinely repeated rows (same content twice) both count.
  const missingIds = await count(
    tx,
    `SELECT count(*) AS n FROM ${CHECKED} WHERE message_id IS NULL AND ${d.arrayLength('problems')} = 0`,
  );
  if (missingIds > 0) {
    const content = `concat_ws('|', type, event, name, user_id, anonymous_id, group_id, previous_id, CAST(ts AS VARCHAR), CAST(properties AS VARCHAR), CAST(traits AS VARCHAR), CAST(context AS VARCHAR))`;
    await tx.run(`UPDATE ${CHECKED} SET message_id = dm.mid FROM (
        SELECT row_no, 'sf-' || h || '-' || row_number() OVER (PARTITION BY h ORDER BY row_no) AS mid
        FROM (SELECT row_no, ${d.hashHex(content)} AS h FROM ${CHECKED} WHERE message_id IS NULL AND ${d.arrayLength('problems')} = 0)
      ) dm WHERE ${CHECKED}.row_no = dm.row_no`);
  }

  const received = await count(tx, `SELECT count(*) AS n FROM ${CHECKED}`);
  const rejected = await count(
    tx,
    `SELECT count(*) AS n FROM ${CHECKED} WHERE ${d.arrayLength('problems')} > 0`,
  );
  if (rejected > 0) {
    await tx.run(
      `INSERT INTO rejected_events (rejected_at, source, row_no, message_id, problems, raw)
       SELECT ${d.now()}, ?, row_no, message_id, ${d.toJson('problems')}, raw FROM ${CHECKED}
       WHERE ${d.arrayLength('problems')} > 0 ORDER BY row_no`,
      [options.source],
    );
    if (options.onRejected) {
      for await (const batch of tx.stream<{
        row_no: number | null;
        message_id: string | null;
        problems: string[];
        raw: string | null;
      }>(
        `SELECT row_no, message_id, problems, raw FROM ${CHECKED} WHERE ${d.arrayLength('problems')} > 0 ORDER BY row_no`,
        [],
        { batchRows: 10_000 },
      )) {
        await options.onRejected(
          batch.map((r) => ({ rowNo: r.row_no, messageId: r.message_id, problems: r.problems, raw: r.raw })),
        );
      }
    }
  }

  await tx.run(`CREATE TEMP TABLE ${NEW_EVENTS} AS
    SELECT ${EVENT_COLUMNS.join(', ')}, row_no FROM ${CHECKED} c
    WHERE ${d.arrayLength('problems')} = 0
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = c.message_id)`);
  const repeatedInBatch = await count(
    tx,
    `SELECT count(*) - count(DISTINCT message_id) AS n FROM ${NEW_EVENTS}`,
  );
  if (repeatedInBatch > 0) {
    // The first occurrence (lowest row number) wins, as a retried send would.
    await tx.run(`DELETE FROM ${NEW_EVENTS} WHERE rowid IN (
      SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY message_id ORDER BY row_no) AS rn FROM ${NEW_EVENTS})
      WHERE rn > 1)`);
  }
  const inserted = await count(tx, `SELECT count(*) AS n FROM ${NEW_EVENTS}`);
  await tx.run(
    `INSERT INTO events (${EVENT_COLUMNS.join(', ')}, source) SELECT ${EVENT_COLUMNS.join(', ')}, ? FROM ${NEW_EVENTS} ORDER BY ts`,
    [options.source.startsWith('import:') ? 'import' : options.source],
  );
  if (inserted > 0) {
    await updateIdentityGraph(tx, NEW_EVENTS);
    await updateProfileFacts(tx, NEW_EVENTS);
  }
  return { received, inserted, duplicates: received - rejected - inserted, rejected };
}

/** True when the stage holds rows a field-typed reader could not tell apart from garbage (see import-ndjson). */
export async function stageHasEmptyRows(tx: Warehouse): Promise<boolean> {
  const d = tx.dialect;
  const q = d.quoteIdent;
  return (
    (await count(
      tx,
      `SELECT count(*) AS n FROM ${STAGE} WHERE ${STAGE_FIELDS.map((f) => `${q(f)} IS NULL`).join(' AND ')}`,
    )) > 0
  );
}

export async function stageRowCount(tx: Warehouse): Promise<number> {
  return count(tx, `SELECT count(*) AS n FROM ${STAGE}`);
}

export async function dropStageOnly(tx: Warehouse): Promise<void> {
  await tx.run(`DROP TABLE IF EXISTS ${STAGE}`);
}
