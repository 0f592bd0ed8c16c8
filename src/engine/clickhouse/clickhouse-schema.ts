import type { ColumnDef, TableDef } from '../dialect.js';
import * as schema from '../schema.js';
import {
  MIGRATIONS,
  type Migration,
  PERSON_MERGES,
  personMergesFromIdentities,
  traitEmailsOf,
} from '../schema.js';
import { clickhouseColumnType, clickhouseDialect } from './clickhouse-dialect.js';

/**
 * The ClickHouse schema. It has the same tables, columns and views as the DuckDB schema (the steps' SQL reads both;
 * test/engine/clickhouse-schema.test.ts compares them), laid out for ClickHouse:
 *
 * - `events` is a ReplacingMergeTree partitioned by month and sorted by (identifier, time, message id), so one
 *   person's events are contiguous runs and a month can be dropped or moved whole. The stored person id (persons on
 *   events) is a column with a bloom-filter index, not part of the sort key: identity merges rewrite it with a
 *   mutation, and ClickHouse cannot mutate sort-key columns.
 * - messageId dedupe: a message stored twice with the same (identifier, time, message id) collapses to one row — at
 *   once for every read (the session reads with FINAL), and on disk when parts merge. The importer and the collector
 *   also skip message ids already stored, as on DuckDB; what the table adds is that a retried insert that raced past
 *   that check can never be counted twice. A retry whose time differs (a re-sent message gets a new sentAt, so a new
 *   skew-corrected time) is only caught by the importer's check.
 * - keyed tables (identities, traits, the outbox, …) are ReplacingMergeTree on their key: the upsert port writes
 *   the merged row and the newest row of a key is the one read.
 * - snapshots (features, predictions, scores) are keyed by (as_of, person): replacing one as-of time deletes its rows
 *   with a lightweight DELETE and inserts the new ones; reads of one as-of time read one range of the sort key.
 * - logs that are only appended (segment changes, refresh sizes, rejected events) are plain MergeTree in the order
 *   they are read.
 * - privacy deletes are lightweight DELETEs (rows are masked at once and gone from disk when their parts merge; an
 *   `OPTIMIZE … FINAL` forces that), identity rewrites are synchronous mutations.
 *
 * Fresh ClickHouse databases start at the current version: the whole schema is one migration with DuckDB's latest
 * version number, and each later DuckDB migration needs its ClickHouse twin here (the schema test fails until then).
 */

/**
 * The DuckDB version the whole-schema migration stands for. Later DuckDB migrations each have a twin below, so that a
 * ClickHouse database made at this version is upgraded step by step, never re-created.
 */
const WHOLE_SCHEMA_VERSION = 19;

/** Columns DuckDB's migrations added with ALTER TABLE after the table was first created. */
const ADDED_COLUMNS: Readonly<Record<string, readonly ColumnDef[]>> = {
  events: [
    { name: 'person_id', type: 'text' },
    { name: 'event_kind', type: 'integer' },
  ],
  import_runs: [{ name: 'rejects_file', type: 'text' }],
  deliveries: [{ name: 'consent', type: 'text' }],
};

interface Layout {
  engine: string;
  orderBy: readonly string[];
  partitionBy?: string;
  indexes?: readonly string[];
}

const q = clickhouseDialect.quoteIdent;

/** Tables whose layout is not "ReplacingMergeTree on the primary key". */
const LAYOUTS: Readonly<Record<string, Layout>> = {
  events: {
    engine: 'ReplacingMergeTree',
    partitionBy: 'toYYYYMM(ts)',
    orderBy: ["ifNull(user_id, ifNull(anonymous_id, ''))", 'ts', 'message_id'],
    indexes: [
      'INDEX events_person person_id TYPE bloom_filter GRANULARITY 4',
      'INDEX events_message message_id TYPE bloom_filter GRANULARITY 4',
      'INDEX events_batch ingest_batch TYPE minmax GRANULARITY 1',
    ],
  },
  features: { engine: 'ReplacingMergeTree', orderBy: ['as_of', 'person_id'] },
  account_features: { engine: 'ReplacingMergeTree', orderBy: ['as_of', 'group_id'] },
  segment_memberships: {
    engine: 'MergeTree',
    orderBy: ['segment', 'person_id', 'entered_at'],
    indexes: ['INDEX memberships_person person_id TYPE bloom_filter GRANULARITY 4'],
  },
  segment_changes: { engine: 'MergeTree', orderBy: ['seq'] },
  segment_refreshes: { engine: 'MergeTree', orderBy: ['segment', 'as_of'] },
  rejected_events: { engine: 'MergeTree', orderBy: ['rejected_at'] },
  import_runs: { engine: 'MergeTree', orderBy: ['started_at'] },
};

/** Every table of the DuckDB schema, with the columns later migrations added. */
function tables(): TableDef[] {
  const defs = Object.values(schema).filter(
    (v): v is TableDef => typeof v === 'object' && v !== null && 'columns' in v && 'name' in v,
  );
  return defs.map((def) => {
    const have = new Set(def.columns.map((c) => c.name));
    const extra = (ADDED_COLUMNS[def.name] ?? []).filter((c) => !have.has(c.name));
    return { ...def, columns: [...def.columns, ...extra] };
  });
}

function createTable(def: TableDef): string {
  const layout = LAYOUTS[def.name];
  if (!layout) return clickhouseDialect.createTable(def);
  const sortColumns = new Set(layout.orderBy);
  const columns = def.columns.map(
    (c) => `${q(c.name)} ${clickhouseColumnType(c.type, c.notNull || sortColumns.has(c.name))}`,
  );
  const orderBy = layout.orderBy.map((c) => (/^\w+$/.test(c) ? q(c) : c)).join(', ');
  return (
    `CREATE TABLE IF NOT EXISTS ${q(def.name)} (${[...columns, ...(layout.indexes ?? [])].join(', ')}) ` +
    `ENGINE = ${layout.engine}${layout.partitionBy ? ` PARTITION BY ${layout.partitionBy}` : ''} ORDER BY (${orderBy}) ` +
    'SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1'
  );
}

/**
 * The views, as the DuckDB migrations define them (they are built from the dialect, so the same text serves both
 * engines): the last definition of each view wins.
 */
function views(): string[] {
  const byName = new Map<string, string>();
  for (const m of MIGRATIONS) {
    for (const sql of m.statements(clickhouseDialect)) {
      const name = /^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+(\w+)/i.exec(sql)?.[1];
      if (name) byName.set(name, sql);
    }
  }
  return [...byName.values()];
}

/**
 * The ClickHouse schema's migrations, for `migrate(wh, target, CLICKHOUSE_MIGRATIONS)`.
 *
 * @example
 * await migrate(wh, undefined, CLICKHOUSE_MIGRATIONS);
 */
export const CLICKHOUSE_MIGRATIONS: readonly Migration[] = [
  {
    version: WHOLE_SCHEMA_VERSION,
    description: `the whole schema as of version ${WHOLE_SCHEMA_VERSION}, laid out for ClickHouse`,
    statements: () => [
      ...tables().map(createTable),
      ...views(),
      // A database made before identity_emails existed (version 17) gets it filled from the traits it has.
      `INSERT INTO identity_emails (email, identifier) ${traitEmailsOf(clickhouseDialect)}`,
    ],
  },
  {
    version: 20,
    description: "point lookups by person and by identifier: served by the tables' sort keys, nothing to add",
    statements: () => [],
  },
  {
    version: 21,
    description: 'every merged-away person id with its survivor, kept after squashes',
    statements: () => [createTable(PERSON_MERGES), personMergesFromIdentities(clickhouseDialect)],
  },
  {
    version: 22,
    description:
      'the identity tables keep their keys by upsert: ReplacingMergeTree already has no unique index',
    statements: () => [],
  },
];
