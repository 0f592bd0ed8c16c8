import type {
  ConflictRefs,
  PortRenderer,
  ReplaceSnapshotSpec,
  ScratchSpec,
  Statement,
  UpdateFromSpec,
  UpsertSpec,
} from '../ports.js';
import { KEYED_BY_MERGE } from '../schema.js';
import type { SqlValue } from '../values.js';
import { duckdbDialect } from './duckdb-dialect.js';

const q = duckdbDialect.quoteIdent;
const list = (names: readonly string[]) => names.map(q).join(', ');

/** Rows per INSERT … VALUES statement: large enough to amortise parsing, small enough to keep the text short. */
const VALUES_ROWS = 1000;

/** Scratch relations are DuckDB temp tables, named in the `temp` catalog so a drop can never reach a stored table. */
const scratchRef = (name: string) => `temp.${q(name)}`;

function conflictRefs(table: string): ConflictRefs {
  return { current: (c) => `${q(table)}.${q(c)}`, incoming: (c) => `excluded.${q(c)}` };
}

/** `ON CONFLICT …` for an upsert: Postgres-style, which DuckDB shares. */
function onConflict(spec: UpsertSpec): string {
  const target = `ON CONFLICT (${list(spec.key)})`;
  if (!spec.update) return `${target} DO NOTHING`;
  const refs = conflictRefs(spec.table);
  const set = updates(spec, refs);
  const when = spec.when ? ` WHERE ${spec.when(refs)}` : '';
  return `${target} DO UPDATE SET ${set.map(([c, v]) => `${q(c)} = ${v}`).join(', ')}${when}`;
}

/** The SET list of an upsert's update, with `refs` naming the stored and the incoming row. */
function updates(spec: UpsertSpec, refs: ConflictRefs): [column: string, value: string][] {
  if (!spec.update) return [];
  return typeof spec.update === 'function'
    ? Object.entries(spec.update(refs))
    : spec.update.map((c) => [c, refs.incoming(c)] as [string, string]);
}

/** Literal rows as `VALUES (?, …), …` lists of at most VALUES_ROWS rows each, with their bound values. */
function valuesChunks(columns: readonly string[], rows: readonly (readonly SqlValue[])[]) {
  const row = `(${columns.map(() => '?').join(', ')})`;
  const chunks: { values: string; params: SqlValue[] }[] = [];
  for (let i = 0; i < rows.length; i += VALUES_ROWS) {
    const chunk = rows.slice(i, i + VALUES_ROWS);
    chunks.push({ values: `VALUES ${chunk.map(() => row).join(', ')}`, params: chunk.flat() });
  }
  return chunks;
}

/** The incoming rows of an upsert as relations, each with the operation's column names: one SELECT, or VALUES chunks. */
function incomingRelations(spec: UpsertSpec): { relation: string; params: SqlValue[] }[] {
  const names = list(spec.columns);
  if ('select' in spec.from) {
    return [
      {
        relation: `(SELECT * FROM (${spec.from.select}) AS _in(${names}))`,
        params: [...(spec.from.params ?? [])],
      },
    ];
  }
  return valuesChunks(spec.columns, spec.from.rows).map(({ values, params }) => ({
    relation: `(SELECT * FROM (${values}) AS _in(${names}))`,
    params,
  }));
}

/**
 * An upsert into a table without a unique index on its key (TableDef.keyIndexed false): a MERGE joining the incoming
 * rows on the key. Without an update, a key repeated among the incoming rows is inserted once, as ON CONFLICT DO
 * NOTHING leaves it.
 */
function mergeUpsert(spec: UpsertSpec, options: { returning?: readonly string[] }): Statement[] {
  // No caller asks rows back from these tables (the one upsertReturning is a counter in segflow_meta).
  if (options.returning) throw new Error(`upsertReturning is not rendered for ${spec.table}, kept by MERGE`);
  const table = q(spec.table);
  const refs: ConflictRefs = { current: (c) => `${table}.${q(c)}`, incoming: (c) => `_in.${q(c)}` };
  const on = spec.key.map((k) => `${refs.current(k)} = ${refs.incoming(k)}`).join(' AND ');
  const set = updates(spec, refs);
  const matched = set.length
    ? ` WHEN MATCHED${spec.when ? ` AND ${spec.when(refs)}` : ''} THEN UPDATE SET ${set.map(([c, v]) => `${q(c)} = ${v}`).join(', ')}`
    : '';
  const insert = ` WHEN NOT MATCHED THEN INSERT (${list(spec.columns)}) VALUES (${spec.columns.map(refs.incoming).join(', ')})`;
  return incomingRelations(spec).map(({ relation, params }) => {
    const source = set.length ? relation : `(SELECT DISTINCT ON (${list(spec.key)}) * FROM ${relation})`;
    return {
      sql: `MERGE INTO ${table} USING ${source} AS _in ON ${on}${matched}${insert}`,
      params,
    };
  });
}

function upsert(spec: UpsertSpec, options: { returning?: readonly string[] } = {}): Statement[] {
  if (KEYED_BY_MERGE.has(spec.table)) return mergeUpsert(spec, options);
  const into = `INSERT INTO ${q(spec.table)} (${list(spec.columns)})`;
  const tail = `${onConflict(spec)}${options.returning ? ` RETURNING ${list(options.returning)}` : ''}`;
  if ('select' in spec.from) {
    return [{ sql: `${into} ${spec.from.select} ${tail}`, params: [...(spec.from.params ?? [])] }];
  }
  return valuesChunks(spec.columns, spec.from.rows).map(({ values, params }) => ({
    sql: `${into} ${values} ${tail}`,
    params,
  }));
}

function createScratch(spec: ScratchSpec): Statement[] {
  const create = `CREATE OR REPLACE TEMP TABLE ${q(spec.name)}`;
  if ('select' in spec) return [{ sql: `${create} AS ${spec.select}`, params: [...(spec.params ?? [])] }];
  const columns = spec.columns.map(([name, type]) => `${q(name)} ${duckdbDialect.columnType(type)}`);
  return [{ sql: `${create} (${columns.join(', ')})`, params: [] }];
}

function dropScratch(name: string): Statement[] {
  return [{ sql: `DROP TABLE IF EXISTS ${scratchRef(name)}`, params: [] }];
}

function updateFrom(spec: UpdateFromSpec): Statement[] {
  const target = (c: string) => `${q(spec.table)}.${q(c)}`;
  const source = 'table' in spec.from ? q(spec.from.table) : `(${spec.from.select})`;
  const set = Object.entries(spec.set).map(([t, s]) => `${q(t)} = _src.${q(s)}`);
  const conditions = Object.entries(spec.match).map(([t, s]) => `${target(t)} = _src.${q(s)}`);
  if (spec.where) conditions.push(spec.where(target));
  return [
    {
      sql: `UPDATE ${q(spec.table)} SET ${set.join(', ')} FROM ${source} AS _src WHERE ${conditions.join(' AND ')}`,
      params: 'table' in spec.from ? [] : [...(spec.from.params ?? [])],
    },
  ];
}

function replaceSnapshot(spec: ReplaceSnapshotSpec): { statements: Statement[]; inserting: number } {
  const at = Object.entries(spec.at);
  const remove: Statement = {
    sql: `DELETE FROM ${q(spec.table)} WHERE ${at.map(([c]) => `${q(c)} = ?`).join(' AND ')}`,
    params: at.map(([, v]) => v as SqlValue),
  };
  const columns = list(spec.columns);
  const params = [...(spec.params ?? [])];
  if (!spec.readsOwnRows) {
    return {
      statements: [
        remove,
        { sql: `INSERT INTO ${q(spec.table)} (${columns}) SELECT ${columns} FROM (${spec.select})`, params },
      ],
      inserting: 1,
    };
  }
  // The new rows are computed in full before any old row goes.
  const next = `_sf_next_${spec.table}`;
  return {
    statements: [
      ...createScratch({ name: next, select: `SELECT ${columns} FROM (${spec.select})`, params }),
      remove,
      {
        sql: `INSERT INTO ${q(spec.table)} (${columns}) SELECT ${columns} FROM ${scratchRef(next)}`,
        params: [],
      },
      ...dropScratch(next),
    ],
    inserting: 2,
  };
}

/** DuckDB's rendering of the statement-level ports. */
export const duckdbPorts: PortRenderer = { upsert, createScratch, dropScratch, updateFrom, replaceSnapshot };
