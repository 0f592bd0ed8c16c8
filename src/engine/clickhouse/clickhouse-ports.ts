import type {
  ConflictRefs,
  PortRenderer,
  ReplaceSnapshotSpec,
  ScratchSpec,
  Statement,
  UpdateFromSpec,
  UpsertSpec,
} from '../ports.js';
import type { SqlValue } from '../values.js';
import { clickhouseColumnType, clickhouseDialect } from './clickhouse-dialect.js';
import { stringLiteral } from './clickhouse-literals.js';

/**
 * ClickHouse's rendering of the statement-level ports. ClickHouse has no ON CONFLICT, no UPDATE … FROM and no
 * RETURNING, and its writes do not report how many rows they changed, so:
 * - keyed tables are ReplacingMergeTree (see the dialect's createTable) read with FINAL (a session setting): an
 *   upsert inserts the merged rows and the newest row of a key is the one every read sees;
 * - a join-update builds a Join-engine table from the source and mutates the target with joinGet, synchronously;
 * - each operation counts the rows it changes with a `count` statement before writing them.
 * Scratch relations are temporary tables of the session (Memory engine), so they never outlive it and a drop can
 * never reach a stored table.
 */

const q = clickhouseDialect.quoteIdent;
const list = (names: readonly string[]) => names.map(q).join(', ');
const tuple = (names: readonly string[]) => `(${names.join(', ')})`;

/** Rows per INSERT … VALUES statement, as for DuckDB. */
const VALUES_ROWS = 1000;

const plain = (sql: string, params: SqlValue[] = []): Statement => ({ sql, params });
const counting = (sql: string, params: SqlValue[] = []): Statement => ({ sql, params, role: 'count' });

function createScratch(spec: ScratchSpec): Statement[] {
  const create = `CREATE TEMPORARY TABLE ${q(spec.name)}`;
  const drop = dropScratch(spec.name);
  if ('select' in spec) {
    return [...drop, plain(`${create} ENGINE = Memory AS ${spec.select}`, [...(spec.params ?? [])])];
  }
  const columns = spec.columns.map(([name, type]) => `${q(name)} ${clickhouseColumnType(type)}`);
  return [...drop, plain(`${create} (${columns.join(', ')}) ENGINE = Memory`)];
}

function dropScratch(name: string): Statement[] {
  return [plain(`DROP TEMPORARY TABLE IF EXISTS ${q(name)}`)];
}

function upsert(spec: UpsertSpec, options: { returning?: readonly string[] } = {}): Statement[] {
  const table = q(spec.table);
  const columns = list(spec.columns);
  const keys = spec.key.map(q);
  const incoming = `_sf_upsert_in`;
  const changed = `_sf_upsert_changed`;
  const added = `_sf_upsert_added`;
  const statements: Statement[] = [];

  // The incoming rows, once (the SELECT may read the table being written), in the table's column types and taken by
  // position, as INSERT … SELECT takes them.
  statements.push(...createScratch({ name: incoming, select: `SELECT ${columns} FROM ${table} WHERE 0` }));
  if ('select' in spec.from) {
    statements.push(
      plain(`INSERT INTO ${q(incoming)} (${columns}) ${spec.from.select}`, [...(spec.from.params ?? [])]),
    );
  } else {
    const row = `(${spec.columns.map(() => '?').join(', ')})`;
    for (let i = 0; i < spec.from.rows.length; i += VALUES_ROWS) {
      const chunk = spec.from.rows.slice(i, i + VALUES_ROWS);
      statements.push(
        plain(
          `INSERT INTO ${q(incoming)} (${columns}) VALUES ${chunk.map(() => row).join(', ')}`,
          chunk.flat(),
        ),
      );
    }
  }

  // Stored rows that change: the whole stored row with the updated columns replaced.
  const update = spec.update;
  if (update) {
    const refs: ConflictRefs = { current: (c) => `_cur.${q(c)}`, incoming: (c) => `_inc.${q(c)}` };
    const set =
      typeof update === 'function'
        ? Object.entries(update(refs))
        : update.map((c) => [c, refs.incoming(c)] as const);
    const on = spec.key.map((k) => `_cur.${q(k)} = _inc.${q(k)}`).join(' AND ');
    const when = spec.when ? ` WHERE ${spec.when(refs)}` : '';
    statements.push(
      ...createScratch({
        name: changed,
        select:
          `SELECT _cur.* REPLACE (${set.map(([c, v]) => `${v} AS ${q(c)}`).join(', ')}) ` +
          `FROM ${table} AS _cur INNER JOIN ${q(incoming)} AS _inc ON ${on}${when}`,
      }),
    );
  }
  // Keys not stored yet.
  statements.push(
    ...createScratch({
      name: added,
      select: `SELECT ${columns} FROM ${q(incoming)} WHERE ${tuple(keys)} NOT IN (SELECT ${keys.join(', ')} FROM ${table})`,
    }),
  );
  statements.push(
    counting(
      update
        ? `SELECT (SELECT count() FROM ${q(changed)}) + (SELECT count() FROM ${q(added)})`
        : `SELECT count() FROM ${q(added)}`,
    ),
  );
  if (update) statements.push(plain(`INSERT INTO ${table} SELECT * FROM ${q(changed)}`));
  statements.push(plain(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${q(added)}`));
  if (options.returning) {
    const written = update
      ? `SELECT ${keys.join(', ')} FROM ${q(changed)} UNION ALL SELECT ${keys.join(', ')} FROM ${q(added)}`
      : `SELECT ${keys.join(', ')} FROM ${q(added)}`;
    statements.push(
      plain(`SELECT ${list(options.returning)} FROM ${table} WHERE ${tuple(keys)} IN (${written})`),
    );
  }
  for (const name of [incoming, changed, added]) statements.push(...dropScratch(name));
  return statements;
}

/**
 * The join-update runs as a mutation, which reads no temporary table and no session state: the source goes into a
 * Join-engine table of the database (named after the target, qualified), dropped afterwards. Key columns of the
 * target's sorting key cannot be mutated in ClickHouse; the steps only update other columns.
 */
function updateFromIn(database: string) {
  return (spec: UpdateFromSpec): Statement[] => {
    const join = `_sf_update_${spec.table}`;
    const joinRef = `${q(database)}.${q(join)}`;
    const source = 'table' in spec.from ? q(spec.from.table) : `(${spec.from.select})`;
    const params = 'table' in spec.from ? [] : [...(spec.from.params ?? [])];
    const matchTarget = Object.keys(spec.match).map(q);
    const matchSource = Object.values(spec.match).map(q);
    // A Join table takes one key of a fixed-size or string type: several match columns become one text key.
    const single = matchTarget.length === 1;
    const keyOf = (columns: readonly string[]) =>
      single ? columns[0]! : `toString(tuple(${columns.join(', ')}))`;
    const sourceKey = single ? matchSource[0]! : q('_sf_key');
    const setSources = [...new Set(Object.values(spec.set))].filter((c) => !(single && q(c) === sourceKey));
    const selected = [`${keyOf(matchSource)} AS ${sourceKey}`, ...setSources.map(q)];
    const target = (c: string) => q(c);
    const where = [
      `${keyOf(matchTarget)} IN (SELECT ${sourceKey} FROM ${joinRef})`,
      ...(spec.where ? [spec.where(target)] : []),
    ].join(' AND ');
    const set = Object.entries(spec.set).map(
      ([t, s]) =>
        `${q(t)} = joinGet(${stringLiteral(`${database}.${join}`)}, ${stringLiteral(s)}, ${keyOf(matchTarget)})`,
    );
    return [
      plain(`DROP TABLE IF EXISTS ${joinRef}`),
      plain(
        `CREATE TABLE ${joinRef} ENGINE = Join(ANY, LEFT, ${sourceKey}) AS SELECT ${selected.join(', ')} FROM ${source} AS _src`,
        params,
      ),
      counting(`SELECT count() FROM ${q(spec.table)} WHERE ${where}`),
      plain(`ALTER TABLE ${q(spec.table)} UPDATE ${set.join(', ')} WHERE ${where}`),
      plain(`DROP TABLE IF EXISTS ${joinRef}`),
    ];
  };
}

function replaceSnapshot(spec: ReplaceSnapshotSpec): { statements: Statement[]; inserting: number } {
  const table = q(spec.table);
  const at = Object.entries(spec.at);
  const atWhere = at.map(([c]) => `${q(c)} = ?`).join(' AND ');
  const atParams = at.map(([, v]) => v as SqlValue);
  const columns = list(spec.columns);
  const params = [...(spec.params ?? [])];
  const remove = plain(`DELETE FROM ${table} WHERE ${atWhere}`, atParams);
  const count = counting(`SELECT count() FROM ${table} WHERE ${atWhere}`, atParams);
  if (!spec.readsOwnRows) {
    return {
      statements: [
        remove,
        plain(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM (${spec.select})`, params),
        count,
      ],
      inserting: 2,
    };
  }
  // The new rows are computed in full before any old row goes.
  const next = `_sf_next_${spec.table}`;
  const statements = [
    ...createScratch({ name: next, select: `SELECT ${columns} FROM (${spec.select})`, params }),
    remove,
    plain(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${q(next)}`),
    count,
    ...dropScratch(next),
  ];
  return { statements, inserting: statements.indexOf(count) };
}

/**
 * The ports in ClickHouse SQL, for a warehouse whose tables live in `database`.
 *
 * @example
 * const render = clickhousePorts('segflow');
 * render.dropScratch('_sf_remap'); // [{ sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_remap"', params: [] }]
 */
export function clickhousePorts(database: string): PortRenderer {
  return { upsert, createScratch, dropScratch, updateFrom: updateFromIn(database), replaceSnapshot };
}
