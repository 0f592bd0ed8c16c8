import type { Dialect } from '../engine/dialect.js';
import type { SqlValue, Warehouse } from '../engine/warehouse.js';
import { BATCH_PERSONS, dropBatchPersons, updateIdentityGraph } from './identity-graph.js';
import { killPoint } from './kill-point.js';
import {
  RECORD_FIELDS,
  RECORD_JSON,
  RECORD_SEPARATOR,
  RECORD_TIMESTAMPS,
  type RecordField,
} from './prepare-message.js';
import {
  carriedFacts,
  type FactCounts,
  factCountsSql,
  rederiveProfileFacts,
  updateProfileFacts,
} from './profile-facts.js';
import {
  MAX_EVENT_BYTES,
  MESSAGE_OBJECT_FIELDS,
  MESSAGE_SCALAR_FIELDS,
  MESSAGE_TYPES,
  type ObjectField,
  PLACEHOLDER_IDS,
  REVENUE_PROPERTIES,
  type ScalarField,
} from './segment-spec.js';

/**
 * The one ingestion pipeline. Every way events arrive (file import, collector batches, library calls) is expressed
 * as a *stage source*: a relation of JSON fields, one row per input row. From there this module
 *
 *   1. checks every row in SQL — every problem, located by JSON path — and derives the event time, revenue and the
 *      typed columns (`checkStage`, one pass over the source, materialised once);
 *   2. stores what is new: rejected rows to rejected_events, missing message ids derived, duplicates dropped, new rows
 *      appended to `events` tagged with this ingest's batch number, then the identity graph and profile facts
 *      updated from exactly those rows (`storeChecked`).
 *
 * Everything runs in the caller's transaction, so a batch lands whole or not at all.
 */

/** The top-level message fields holding one value (text, a number or a date-time): from SegmentMessageSchema. */
export const SCALAR_FIELDS = MESSAGE_SCALAR_FIELDS;
/** The top-level message fields holding an object: from SegmentMessageSchema. */
export const OBJECT_FIELDS = MESSAGE_OBJECT_FIELDS;
/** The top-level message fields read from each input row. */
export const STAGE_FIELDS: readonly StageField[] = [...SCALAR_FIELDS, ...OBJECT_FIELDS];
export type StageField = ScalarField | ObjectField;
export type { ScalarField };

/** Temp tables of one ingest; the connection is serialized, so fixed names cannot collide. */
export const RAW_TABLE = '_sf_raw';
const CHECKED = '_sf_checked';
const DUPLICATES = '_sf_duplicates';
/** The already-stored events a batch names again, while their facts are derived again (see rederiveStoredFacts). */
const STORED = '_sf_stored';

/**
 * How far apart in event time a message and a stored event with the same messageId may be and still be one event:
 * a day. A resent message is the same message — an SDK's retry, a load replayed after a crash, a file imported
 * again — so its time is the same, or moved by the few seconds its new `sentAt` shifts the clock-skew correction, or
 * (a message without a timestamp of its own) by how much later it arrived. Bounding the look-up by time is what lets
 * the engine skip all but the newest part of the events table: with random (UUID) messageIds nothing else can, and
 * a load of 2,000 events read every stored messageId (13.3M of them, ~0.13 s a load here). A messageId reused for an
 * event more than a day away is stored as a new event. PostHog's events table draws the line at the same day.
 */
export const DUPLICATE_WINDOW_MS = 86_400_000;

/** The event times a batch's duplicates can have: its first and last time, widened by DUPLICATE_WINDOW_MS. */
function duplicateWindow(first: Date | null, last: Date | null): [Date, Date] {
  // No valid row: an empty window (nothing is looked up).
  if (!first || !last) return [new Date(1), new Date(0)];
  return [new Date(first.getTime() - DUPLICATE_WINDOW_MS), new Date(last.getTime() + DUPLICATE_WINDOW_MS)];
}

export interface IngestCounts {
  /** Rows read from the source. */
  received: number;
  /** New events stored. */
  inserted: number;
  /** Valid events whose messageId was already stored (or repeated within the batch): no-ops, counted. */
  duplicates: number;
  /** Rows that failed validation: kept in rejected_events with their problems. */
  rejected: number;
  /** Valid rows of people deleted on request (their identifiers are tombstoned): dropped, never stored. */
  erased?: number;
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

/** A stage source over a table of raw JSON texts (`row_no`, `raw`): one parse per row; non-JSON rows kept. */
export function stageFromRaw(d: Dialect, rawTable: string): string {
  const list = d.jsonFieldList('raw', STAGE_FIELDS);
  const fields = STAGE_FIELDS.map((f, i) => `${d.nullIfJsonNull(d.listItem('l', i))} AS ${d.quoteIdent(f)}`);
  return `SELECT row_no, raw, is_object, ${d.noTextList()} AS source_problems, ${fields.join(', ')}
    FROM (SELECT row_no, raw, ${d.textIsJsonObject('raw')} AS is_object, ${list} AS l FROM ${rawTable})`;
}

/**
 * A stage source over a relation that already has the JSON fields as columns (a file reader, a mapped CSV):
 * `source` yields `row_no` and the STAGE_FIELDS columns as JSON, and with `sourceProblems` a `source_problems`
 * text array (conversions a mapping could not make, e.g. a price that is not a number).
 */
export function stageFromFields(
  d: Dialect,
  source: string,
  options: { sourceProblems?: boolean; nullsAreSqlNull?: boolean } = {},
): string {
  // The engine's JSON reader already gives SQL NULL for a JSON null; mapped sources may not.
  const fields = STAGE_FIELDS.map((f) =>
    options.nullsAreSqlNull ? d.quoteIdent(f) : `${d.nullIfJsonNull(d.quoteIdent(f))} AS ${d.quoteIdent(f)}`,
  );
  const problems = options.sourceProblems ? 'source_problems' : `${d.noTextList()} AS source_problems`;
  return `SELECT row_no, CAST(NULL AS VARCHAR) AS raw, TRUE AS is_object, ${problems}, ${fields.join(', ')} FROM (${source})`;
}

/**
 * The validation and normalisation query. Each JSON value is parsed at most once: kinds come from the first character
 * of the engine's serialized JSON, texts are extracted once in the first CTE, and the checks read those columns.
 */
function checkedSelect(d: Dialect, source: string, receivedAt: string): string {
  const q = d.quoteIdent;
  const k = (f: StageField) => q(`k_${f}`);
  const x = (f: StageField) => q(`x_${f}`);
  const placeholders = `(${PLACEHOLDER_IDS.map(lit).join(', ')})`;
  const shown = (e: string) => `'''' || left(${e}, 80) || ''''`;
  const types = MESSAGE_TYPES.join(', ');
  const textFields = SCALAR_FIELDS;
  const tsFields = ['timestamp', 'originalTimestamp', 'sentAt', 'receivedAt'] as const;
  const objectFields = OBJECT_FIELDS;
  const sizeFields = ['properties', 'traits', 'context'] as const;
  const len = (f: StageField) => q(`n_${f}`);
  const ts = (f: (typeof tsFields)[number]) => q(`t_${f}`);
  const isId = (f: StageField) => `${k(f)} IN ('string', 'number')`;

  const parsedFields = [
    ...STAGE_FIELDS.map((f) => `${d.jsonKindOfSerialized(q(f))} AS ${k(f)}`),
    ...textFields.map((f) => `${d.jsonText(q(f), "'$'")} AS ${x(f)}`),
    ...objectFields.map((f) => `${d.jsonLength(q(f))} AS ${len(f)}`),
  ];
  const revenueList = d.jsonFieldList(`CAST(properties AS VARCHAR)`, REVENUE_PROPERTIES);
  const revenue = REVENUE_PROPERTIES.map((_, i) => {
    const v = d.listItem('rev', i);
    return `CASE WHEN ${d.jsonKindOfSerialized(v)} IN ('number', 'string') THEN ${d.toDouble(d.jsonText(v, "'$'"))} END`;
  });

  /** Each check: a condition that is true when the row has the problem, and the message that says so. */
  const checks: [condition: string, message: string][] = [
    [
      `NOT is_object`,
      `'$: ' || CASE WHEN raw IS NOT NULL AND NOT ${d.textIsJson('raw')} THEN 'not valid JSON' ELSE 'not a JSON object' END || '; each row must be one Segment message object, e.g. {"type":"track","event":"Signed Up","userId":"u1"}'`,
    ],
    [`is_object AND "type" IS NULL`, `'$.type: missing; set it to one of ${types}'`],
    [
      `"type" IS NOT NULL AND t IS NULL`,
      `'$.type: ' || ${shown(x('type'))} || ' is not a message type; use one of ${types}'`,
    ],
    ...(['userId', 'anonymousId', 'groupId', 'previousId', 'messageId'] as const).map(
      (f) =>
        [`${q(f)} IS NOT NULL AND NOT ${isId(f)}`, `'$.${f}: must be a string (got ' || ${k(f)} || ')'`] as [
          string,
          string,
        ],
    ),
    [
      `is_object AND uid IS NULL AND aid IS NULL`,
      `CASE WHEN uid_raw IS NOT NULL THEN '$.userId: ' || ${shown('uid_raw')} || ' is a placeholder, not an identifier, and there is no anonymousId; send the real user id'
        WHEN aid_raw IS NOT NULL THEN '$.anonymousId: ' || ${shown('aid_raw')} || ' is a placeholder, not an identifier, and there is no userId; send a real id'
        ELSE '$: neither userId nor anonymousId is set; every message needs at least one' END`,
    ],
    [
      `t = 'track' AND (${k('event')} IS DISTINCT FROM 'string' OR trim(${x('event')}) = '')`,
      `'$.event: a track call needs the event name as a non-empty string'`,
    ],
    [
      `t IN ('page', 'screen') AND "name" IS NOT NULL AND ${k('name')} <> 'string'`,
      `'$.name: must be a string (got ' || ${k('name')} || ')'`,
    ],
    [
      `t = 'alias' AND prev IS NULL`,
      `'$.previousId: an alias call needs previousId, the id being merged into userId'`,
    ],
    [
      `t = 'alias' AND uid IS NULL`,
      `'$.userId: an alias call needs userId, the id previousId is merged into'`,
    ],
    [`t = 'group' AND gid IS NULL`, `'$.groupId: a group call needs groupId, the account id'`],
    ...tsFields.map(
      (f) =>
        [
          `${q(f)} IS NOT NULL AND ${ts(f)} IS NULL`,
          `'$.${f}: ' || ${shown(x(f))} || ' is not an ISO-8601 date-time; send e.g. 2026-01-31T09:30:00.000Z'`,
        ] as [string, string],
    ),
    ...objectFields.map(
      (f) =>
        [
          `${q(f)} IS NOT NULL AND ${k(f)} <> 'object'`,
          `'$.${f}: must be an object (got ' || ${k(f)} || ')'`,
        ] as [string, string],
    ),
    ...sizeFields.map(
      (f) =>
        [
          `${len(f)} > ${MAX_EVENT_BYTES}`,
          `'$.${f}: ' || ${len(f)} || ' bytes is over the limit of ${MAX_EVENT_BYTES} bytes per event; send less data'`,
        ] as [string, string],
    ),
    [
      `${sizeFields.map((f) => `coalesce(${len(f)}, 0) <= ${MAX_EVENT_BYTES}`).join(' AND ')} AND size > ${MAX_EVENT_BYTES}`,
      `'$: the message is ' || size || ' bytes, over the limit of ${MAX_EVENT_BYTES} bytes per event; send less data'`,
    ],
  ];
  // Most rows are valid: a cheap conjunction decides that, and the list of messages is built only for the rest.
  const hasProblem = `(coalesce(${d.arrayLength('source_problems')}, 0) > 0 OR ${checks.map(([c]) => `coalesce(${c}, FALSE)`).join(' OR ')})`;
  const problemList = d.concatArrays(
    'source_problems',
    d.compactArray(checks.map(([c, m]) => `CASE WHEN ${c} THEN ${m} END`)),
  );

  return `WITH parsed AS (SELECT *, ${parsedFields.join(', ')} FROM (${source})),
    typed AS (
      SELECT *,
        CASE WHEN ${isId('userId')} THEN ${x('userId')} END AS uid_raw,
        CASE WHEN ${isId('anonymousId')} THEN ${x('anonymousId')} END AS aid_raw,
        CASE WHEN ${isId('groupId')} THEN ${x('groupId')} END AS gid,
        CASE WHEN ${isId('previousId')} THEN ${x('previousId')} END AS prev,
        CASE WHEN ${k('type')} = 'string' AND ${x('type')} IN (${MESSAGE_TYPES.map(lit).join(', ')}) THEN ${x('type')} END AS t,
        ${tsFields.map((f) => `CASE WHEN ${k(f)} = 'string' THEN ${d.parseTimestamp(x(f))} END AS ${ts(f)}`).join(', ')},
        coalesce(length(raw), ${objectFields.map((f) => `coalesce(${len(f)}, 0)`).join(' + ')}) AS size,
        CASE WHEN ${k('properties')} = 'object' AND (${REVENUE_PROPERTIES.map((p) => d.jsonTextContains('properties', `"${p}"`)).join(' OR ')})
             THEN ${revenueList} END AS rev
      FROM parsed),
    ids AS (
      SELECT *,
        CASE WHEN lower(trim(uid_raw)) NOT IN ${placeholders} THEN uid_raw END AS uid,
        CASE WHEN lower(trim(aid_raw)) NOT IN ${placeholders} THEN aid_raw END AS aid
      FROM typed),
    checked AS (
      SELECT *, ${hasProblem} AS invalid, CASE WHEN ${hasProblem} THEN ${problemList} END AS problems,
             coalesce(${ts('receivedAt')}, ${d.toTimestamp(receivedAt)}) AS received
      FROM ids)
    SELECT row_no,
      CASE WHEN invalid THEN coalesce(raw, CAST(${d.jsonObjectOf(STAGE_FIELDS.map((f) => [d.textLiteral(f), q(f)]))} AS VARCHAR)) END AS raw,
      problems,
      NOT invalid AS valid,
      is_object AND ${STAGE_FIELDS.map((f) => `${q(f)} IS NULL`).join(' AND ')} AS blank,
      CASE WHEN ${isId('messageId')} THEN ${x('messageId')} END AS message_id,
      t AS type,
      CASE WHEN t = 'track' THEN ${x('event')} END AS event,
      CASE WHEN t IN ('page', 'screen') AND ${k('name')} = 'string' THEN ${x('name')} END AS name,
      uid AS user_id, aid AS anonymous_id, gid AS group_id, prev AS previous_id,
      coalesce(${ts('timestamp')},
               CASE WHEN ${ts('originalTimestamp')} IS NOT NULL AND ${ts('sentAt')} IS NOT NULL
                    THEN ${d.skewCorrected('received', ts('sentAt'), ts('originalTimestamp'))} END,
               ${ts('originalTimestamp')}, received) AS ts,
      ${ts('originalTimestamp')} AS original_timestamp, ${ts('sentAt')} AS sent_at, received AS received_at,
      coalesce(${revenue.join(', ')}) AS revenue,
      CASE WHEN t IN ('track', 'page', 'screen') THEN properties END AS properties,
      CASE WHEN t IN ('identify', 'group') THEN traits END AS traits,
      context, integrations
    FROM checked`;
}

/** The stored columns of `events`: exactly the fields of a fast-path record, in the same order. */
const EVENT_COLUMNS = RECORD_FIELDS;

/**
 * Number the (type, event name) pairs of the rows about to be stored that have no kind yet (see EVENT_KINDS): the
 * events then store their kind. New kinds are rare after the first batches, so this is a small DISTINCT.
 */
async function addEventKinds(tx: Warehouse, storing: string): Promise<void> {
  await tx.run(
    `INSERT INTO event_kinds (kind, type, event)
     SELECT CAST((SELECT coalesce(max(kind), 0) FROM event_kinds) + row_number() OVER (ORDER BY n.type, n.event) AS INTEGER),
       n.type, n.event
     FROM (SELECT DISTINCT c.type, coalesce(c.event, '') AS event FROM ${storing}) n
       LEFT JOIN event_kinds k ON k.type = n.type AND k.event = n.event
     WHERE coalesce(k.kind, 0) = 0`,
  );
}

async function count(wh: Warehouse, sql: string, params: readonly SqlValue[] = []): Promise<number> {
  const rows = await wh.query<{ n: number }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Drop the temp tables of an ingest. */
export async function dropStage(tx: Warehouse): Promise<void> {
  for (const t of [RAW_TABLE, RECORD_TABLE, CHECKED, DUPLICATES, STORED]) await tx.storage.dropScratch(t);
}

export interface CheckedStage {
  rows: number;
  /** Rows where every field is absent: `{}`, or what a field-typed file reader makes of a line it could not parse. */
  blankRows: number;
}

/**
 * Step 1: read the stage source once, checking and normalising every row into the checked table. Inside a
 * transaction. The source's placeholders are numbered ($1…); receivedAt takes the next number.
 */
export async function checkStage(
  tx: Warehouse,
  source: string,
  params: readonly SqlValue[],
  receivedAt: Date = new Date(),
): Promise<CheckedStage> {
  await tx.storage.createScratch({
    name: CHECKED,
    select: checkedSelect(tx.dialect, source, `$${params.length + 1}`),
    params: [...params, receivedAt],
  });
  return countChecked(tx);
}

async function countChecked(tx: Warehouse): Promise<CheckedStage> {
  const [r] = await tx.query<{ rows: number; blank: number }>(
    `SELECT count(*) AS rows, ${tx.dialect.aggregateIf('count(*)', 'blank')} AS blank FROM ${CHECKED}`,
  );
  return { rows: r?.rows ?? 0, blankRows: r?.blank ?? 0 };
}

/** The staging table of fast-path records (`row_no`, `rec`), see prepare-message.ts. */
export const RECORD_TABLE = '_sf_records';

/** The checked rows of fast-path records: split, typed, valid by construction. Columns as checkedSelect's. */
function recordsSelect(d: Dialect): string {
  const field = (f: RecordField) => `nullif(${d.listItem('l', RECORD_FIELDS.indexOf(f))}, '')`;
  const typed = (f: RecordField) => {
    if (RECORD_TIMESTAMPS.includes(f))
      return d.timestampFromMicros(`CAST(${field(f)} AS ${d.columnType('bigint')})`);
    if (RECORD_JSON.includes(f)) return `CAST(${field(f)} AS ${d.columnType('json')})`;
    if (f === 'revenue') return `CAST(${field(f)} AS ${d.columnType('double')})`;
    return field(f);
  };
  return `SELECT row_no, CAST(NULL AS VARCHAR) AS raw, ${d.noTextList()} AS problems, TRUE AS valid, FALSE AS blank,
      ${RECORD_FIELDS.map((f) => `${typed(f)} AS ${f}`).join(', ')}
    FROM (SELECT row_no, ${d.splitText('rec', RECORD_SEPARATOR)} AS l FROM ${RECORD_TABLE})`;
}

/**
 * Step 1 for prepared messages: fast-path records (in RECORD_TABLE) are split into typed rows, and JSON texts (in
 * RAW_TABLE, when `staged.raw`) are checked as above, both into the one checked table. Inside a transaction.
 */
export async function checkPrepared(
  tx: Warehouse,
  staged: { raw: boolean },
  receivedAt: Date,
): Promise<void> {
  const d = tx.dialect;
  const parts = [recordsSelect(d)];
  if (staged.raw) parts.push(`SELECT * FROM (${checkedSelect(d, stageFromRaw(d, RAW_TABLE), '$1')})`);
  await tx.storage.createScratch({
    name: CHECKED,
    select: parts.join(' UNION ALL '),
    params: staged.raw ? [receivedAt] : [],
  });
}

async function nextIngestBatch(tx: Warehouse): Promise<number> {
  const d = tx.dialect;
  const [row] = await tx.storage.upsertReturning<{ value: string }>(
    {
      table: 'segflow_meta',
      columns: ['key', 'value'],
      key: ['key'],
      from: { rows: [['ingest_batch', '1']] },
      update: (r) => ({
        value: `CAST(CAST(${r.current('value')} AS ${d.columnType('bigint')}) + 1 AS ${d.columnType('text')})`,
      }),
    },
    ['value'],
  );
  return Number(row!.value);
}

/**
 * Derive again the profile facts of the events this batch names that are stored already. On an engine whose
 * transaction is not atomic (ClickHouse) a load is cut short (a SIGKILL, the engine going away) with whatever it wrote
 * kept: its events may be stored while their facts — traits, emails, consent, accounts, activity — are not, or only
 * in part. The retry (the intake log's replay, a client's resend, a re-import) finds those events stored and skips
 * them, so their facts would never be written; hence they are derived here from the stored rows, for every stored
 * event the batch names, since nothing records which load was cut short where. Writing them again is harmless: every
 * fact but activity merges (profile-facts.ts), and activity is recounted. This runs before the batch's new events are
 * inserted, so the recount does not see them and their own addition counts them once. The identity graph needs
 * nothing of the kind: it is written before the events, so a retry that finds them stored finds it written too.
 * DuckDB's load is one transaction, so events there are never stored without their facts and this is skipped.
 */
async function rederiveStoredFacts(tx: Warehouse, window: [Date, Date]): Promise<void> {
  await tx.storage.createScratch({
    name: STORED,
    select: `SELECT * FROM events WHERE ts >= ? AND ts <= ? AND message_id IN (SELECT message_id FROM ${DUPLICATES})`,
    params: window,
  });
  await rederiveProfileFacts(tx, STORED);
  await tx.storage.dropScratch(STORED);
}

/** Rows per block when judging an import's order: about one DuckDB row group (122,880 rows). */
const ORDER_BLOCK_ROWS = 100_000;

/**
 * Whether the checked rows to store (`where`, over CHECKED as `c`) are already in time order as far as reads of a time
 * range can tell: in blocks of consecutive rows, the median block spans at most twice what it would in exact time
 * order (the whole span over the number of blocks). An export written in time order, or nearly (late events, a few
 * files out of order), then keeps its order, and the sort that would cost as much as the insert itself is skipped:
 * on 2M time-ordered events (a slice of the refresh benchmark's file, sorted) the insert took 4.3–4.4 s against
 * 5.3 s sorted, the whole import 22.0–22.2 s against 22.7–23.5 s (two runs each, 2026-12-07). A history written one person
 * at a time has blocks that each span nearly all of it, and is sorted. Small batches are sorted (it costs little).
 *
 * @example
 * const sorted = await inTimeOrder(tx, 'c.valid'); // false for a file written person by person
 */
async function inTimeOrder(tx: Warehouse, where: string): Promise<boolean> {
  const d = tx.dialect;
  const [r] = await tx.query<{ blocks: number; span: number | null; whole: number | null }>(
    `SELECT count(*) AS blocks, ${d.median('hi - lo')} AS span, max(hi) - min(lo) AS whole FROM (
       SELECT floor(c.row_no / ${ORDER_BLOCK_ROWS}) AS block, min(${d.epochMs('c.ts')}) AS lo, max(${d.epochMs('c.ts')}) AS hi
       FROM ${CHECKED} c WHERE ${where} GROUP BY floor(c.row_no / ${ORDER_BLOCK_ROWS})) b`,
  );
  const blocks = Number(r?.blocks ?? 0);
  if (blocks < 4 || r?.span == null || r.whole == null) return false;
  return Number(r.span) <= (2 * Number(r.whole)) / blocks;
}

/** Step 2: store what step 1 checked. Inside the same transaction. */
export async function storeChecked(tx: Warehouse, options: IngestOptions): Promise<IngestCounts> {
  const d = tx.dialect;
  const valid = 'valid';

  // One look at the batch decides which of the steps below have anything to do; most collector batches need none.
  // Repeated message ids are counted by their hashes (half the time of the texts on 13M rows): a collision can only
  // make `repeated` too high, which runs the exact first-row-wins step below for nothing.
  const totalsSql = `SELECT count(*) AS received, ${d.aggregateIf('count(*)', `NOT ${valid}`)} AS rejected,
      ${d.aggregateIf('count(*)', valid)} - ${d.aggregateIf(`count(DISTINCT ${d.hash64('message_id')})`, valid)} AS repeated,
      ${d.aggregateIf('count(*)', `message_id IS NULL AND ${valid}`)} AS missing,
      (SELECT count(*) FROM privacy_tombstones) AS tombstones,
      min(CASE WHEN ${valid} THEN ts END) AS first_ts, max(CASE WHEN ${valid} THEN ts END) AS last_ts,
      ${factCountsSql(d, valid)}
    FROM ${CHECKED}`;
  type Totals = FactCounts & {
    received: number;
    rejected: number;
    repeated: number;
    missing: number;
    tombstones: number;
    first_ts: Date | null;
    last_ts: Date | null;
  };
  let [totals] = await tx.query<Totals>(totalsSql);
  const missingIds = totals!.missing;

  // Rows without a messageId get a stable one: a digest of their content plus their rank among identical rows, so
  // re-importing the same file adds nothing while genuinely repeated rows (same content twice) both count.
  if (missingIds > 0) {
    const content = d.joinText('|', [
      'type',
      'event',
      'name',
      'user_id',
      'anonymous_id',
      'group_id',
      'previous_id',
      d.timestampText('ts'),
      'CAST(properties AS VARCHAR)',
      'CAST(traits AS VARCHAR)',
      'CAST(context AS VARCHAR)',
    ]);
    await tx.storage.updateFrom({
      table: CHECKED,
      from: {
        select: `SELECT row_no, 'sf-' || h || '-' || row_number() OVER (PARTITION BY h ORDER BY row_no) AS mid
        FROM (SELECT row_no, ${d.hashHex(content)} AS h FROM ${CHECKED} WHERE message_id IS NULL AND ${valid})`,
      },
      match: { row_no: 'row_no' },
      set: { message_id: 'mid' },
    });
  }

  // People deleted on request (Govern) left salted hashes of their identifiers: their late events are dropped here,
  // so neither a straggling SDK nor a re-import brings them back (not even as a rejected row).
  let erased = 0;
  if (totals!.tombstones > 0) {
    const [salt] = await tx.query<{ value: string }>(
      `SELECT value FROM segflow_meta WHERE key = 'privacy_salt'`,
    );
    const hashed = (col: string) =>
      `${d.sha256Hex(`? || ${col}`)} IN (SELECT identifier_hash FROM privacy_tombstones)`;
    erased = await tx.run(
      `DELETE FROM ${CHECKED} WHERE (${hashed('user_id')} OR ${hashed('anonymous_id')} OR ${hashed('previous_id')})`,
      [salt!.value, salt!.value, salt!.value],
    );
  }

  // Derived ids and erasures change the counts.
  if (missingIds > 0 || erased > 0) [totals] = await tx.query<Totals>(totalsSql);
  const { rejected, repeated } = totals!;
  const received = totals!.received + erased;
  if (rejected > 0) {
    await tx.run(
      `INSERT INTO rejected_events (rejected_at, source, row_no, message_id, problems, raw)
       SELECT ${d.now()}, ?, row_no, message_id, ${d.toJson('problems')}, raw FROM ${CHECKED}
       WHERE NOT ${valid} ORDER BY row_no`,
      [options.source],
    );
    if (options.onRejected) {
      for await (const batch of tx.stream<{
        row_no: number | null;
        message_id: string | null;
        problems: string[];
        raw: string | null;
      }>(`SELECT row_no, message_id, problems, raw FROM ${CHECKED} WHERE NOT ${valid} ORDER BY row_no`, [], {
        batchRows: 10_000,
      })) {
        await options.onRejected(
          batch.map((r) => ({ rowNo: r.row_no, messageId: r.message_id, problems: r.problems, raw: r.raw })),
        );
      }
    }
  }

  const batch = await nextIngestBatch(tx);
  // A messageId repeated within the batch keeps its first row, as a retried send would; the window only runs
  // when there is such a repeat.
  const firstOnly =
    repeated > 0
      ? `AND c.row_no IN (SELECT row_no FROM (SELECT row_no, row_number() OVER (PARTITION BY message_id ORDER BY row_no) AS rn FROM ${CHECKED} WHERE ${valid}) WHERE rn = 1)`
      : '';
  // Already-stored ids are found first with a semi-join into a small table: an INSERT whose source reads the table it
  // writes to cannot stream, and most batches have no duplicates at all. Only events within DUPLICATE_WINDOW_MS of
  // the batch's times are read (see there): the engine skips the rest of the table by time.
  const window = duplicateWindow(totals!.first_ts, totals!.last_ts);
  await tx.storage.createScratch({
    name: DUPLICATES,
    select: `SELECT DISTINCT message_id FROM events
     WHERE ts >= ? AND ts <= ? AND message_id IN (SELECT message_id FROM ${CHECKED} WHERE ${valid})`,
    params: window,
  });
  const stored = await count(tx, `SELECT count(*) AS n FROM ${DUPLICATES}`);
  if (stored > 0 && !tx.atomicTransactions) await rederiveStoredFacts(tx, window);
  const notStored = stored > 0 ? `AND c.message_id NOT IN (SELECT message_id FROM ${DUPLICATES})` : '';
  const toStoreWhere = `c.${valid} ${firstOnly} ${notStored}`;
  const storing = `${CHECKED} c WHERE ${toStoreWhere}`;
  // The identity graph first, from the rows about to be stored: it leaves every identifier of the batch with its
  // person, which each event then stores ("persons on events"); merges with earlier people become overrides.
  const [{ n: toStore } = { n: 0 }] = await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${storing}`);
  if (Number(toStore) > 0) {
    await updateIdentityGraph(tx, `(SELECT c.* FROM ${storing})`);
    await addEventKinds(tx, storing);
  }
  // An import (history, often written one person at a time) is stored in time order: reads of a time range — the
  // stream's time edges, an incremental refresh's scope — then skip the row groups outside it. A collector's batches
  // arrive in time order already, and so do many exports: those keep their order (see inTimeOrder).
  const sortByTime = options.source.startsWith('import:') && !(await inTimeOrder(tx, toStoreWhere));
  const inserted =
    Number(toStore) === 0
      ? 0
      : await tx.run(
          `INSERT INTO events (${EVENT_COLUMNS.join(', ')}, source, ingest_batch, person_id, event_kind)
     SELECT ${EVENT_COLUMNS.map((c) => `c.${c}`).join(', ')}, ?, ?, bp.person_id, k.kind
     FROM ${CHECKED} c LEFT JOIN ${BATCH_PERSONS} bp ON bp.identifier = coalesce(c.user_id, c.anonymous_id)
       LEFT JOIN event_kinds k ON k.type = c.type AND k.event = coalesce(c.event, '')
     WHERE ${toStoreWhere}${sortByTime ? ' ORDER BY c.ts' : ''}`,
          [options.source.startsWith('import:') ? 'import' : options.source, batch],
        );
  if (inserted > 0) killPoint('ingest:events-stored');
  await dropBatchPersons(tx);
  if (inserted > 0) {
    // The rows just stored, read where they were copied from: the same values, and an import's checked rows are a
    // committed scratch table on DuckDB, which scans about twice as fast as the rows this transaction added to events.
    const newEvents = `(SELECT ${EVENT_COLUMNS.map((c) => `c.${c}`).join(', ')} FROM ${storing})`;
    await updateProfileFacts(tx, newEvents, carriedFacts(totals));
  }
  return {
    received,
    inserted,
    duplicates: received - rejected - inserted - erased,
    rejected,
    ...(erased ? { erased } : {}),
  };
}
