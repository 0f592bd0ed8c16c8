import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Dialect, inTexts } from '../../src/engine/dialect.js';
import { openDuckDB } from '../../src/engine/duckdb/duckdb-warehouse.js';
import type { SqlValue, Warehouse } from '../../src/engine/warehouse.js';
import { ENGINE_SQL, openChdbForTest } from '../helpers/engines.js';

/**
 * Differential test of the dialects: every expression is evaluated on DuckDB (the reference engine) and on ClickHouse
 * (chdb), over the same inputs, and must give the same value. Inputs are text literals and bound values, which both
 * engines read alike; timestamps are made with the dialect's own parseTimestamp.
 */

interface Case {
  name: string;
  /** A SELECT list (one or more `expr AS name`), over the relation `x` when `rows` is given. */
  select: (d: Dialect) => string;
  params?: SqlValue[];
  /** Rows of `x(k, v, ts, n)`: text, text, ISO time text, number. */
  rows?: [string, string | null, string, number | null][];
}

const ts = (d: Dialect, text: string) => d.parseTimestamp(`'${text}'`);
const J = `'{"a":"x","n":1.5,"b":true,"z":null,"o":{"p":{"q":"deep"}},"arr":["u","v"]}'`;

const CASES: Case[] = [
  {
    name: 'jsonText reads strings, numbers, booleans, nested keys and array items; NULL for missing and null',
    select: (d) =>
      [
        `${d.jsonText(J, `'$."a"'`)} AS s`,
        `${d.jsonText(J, `'$."n"'`)} AS n`,
        `${d.jsonText(J, `'$."b"'`)} AS b`,
        `${d.jsonText(J, `'$."o"."p"."q"'`)} AS deep`,
        `${d.jsonText(`'["first","second"]'`, `'$[0]'`)} AS item`,
        `${d.jsonText(J, `'$."missing"'`)} AS missing`,
        `${d.jsonText(J, `'$."z"'`)} AS z`,
        `${d.jsonText(`'"whole"'`, `'$'`)} AS whole`,
        `${d.jsonText(J, '$1')} AS bound`,
      ].join(', '),
    params: ['$."a"'],
  },
  {
    name: 'jsonValue keeps JSON, jsonKind and jsonKindOfSerialized name the kinds',
    select: (d) =>
      [
        `${d.jsonValue(J, `'$."arr"'`)} AS arr`,
        `${d.jsonValue(J, `'$."missing"'`)} AS missing`,
        ...['a', 'n', 'b', 'o', 'arr', 'z'].flatMap((k) => [
          `${d.jsonKind(d.jsonValue(J, `'$."${k}"'`))} AS kind_${k}`,
          `${d.jsonKindOfSerialized(d.jsonValue(J, `'$."${k}"'`))} AS serialized_${k}`,
        ]),
      ].join(', '),
  },
  {
    name: 'JSON tests and lists',
    select: (d) =>
      [
        `${d.textIsJson(`'{"a":1}'`)} AS json_yes`,
        `${d.textIsJson(`'{"a":'`)} AS json_no`,
        `${d.textIsJsonObject(`'{"a":1}'`)} AS object_yes`,
        `${d.textIsJsonObject(`'[1]'`)} AS object_no`,
        `${d.textIsJsonObject(`'nope'`)} AS object_invalid`,
        `${d.jsonArrayHas(`'["a","b"]'`, `'b'`)} AS has_b`,
        `${d.jsonArrayHas(`'["a","b"]'`, `'c'`)} AS has_c`,
        `${d.jsonTextContains(J, '"deep"')} AS contains`,
        `${d.jsonLength(`'{"a":1}'`)} AS len`,
        `'b' AS probe`,
      ].join(', '),
  },
  {
    name: 'jsonObjectOf embeds JSON values as they are and a NULL as null (a mapped import builds messages so)',
    select: (d) =>
      `CAST(${d.jsonObjectOf([
        [d.textLiteral('n'), d.toJsonValue('1.5')],
        ['$1', d.toJsonValue(`'pro, "annual"'`)],
        [d.textLiteral('o'), `CAST('{"p":[1,"x"]}' AS ${d.columnType('json')})`],
        [d.textLiteral('z'), `CAST(NULL AS ${d.columnType('json')})`],
      ])} AS VARCHAR) AS object`,
    params: ['plan'],
  },
  {
    name: 'timestamps: parsing with offsets, ISO text, epochs, day start, arithmetic, skew correction',
    select: (d) =>
      [
        `${d.isoText(ts(d, '2026-03-01T10:20:30.123+02:00'))} AS iso`,
        `${d.epochMs(ts(d, '2026-03-01T10:20:30.123Z'))} AS ms`,
        `${d.epochSeconds(ts(d, '2026-03-01T00:00:01.500Z'))} - ${d.epochSeconds(ts(d, '2026-03-01T00:00:00Z'))} AS secs`,
        `${d.isoText(d.dayStart(ts(d, '2026-03-01T10:20:30Z')))} AS day_start`,
        `${d.isoText(d.plusMs(ts(d, '2026-03-01T00:00:00Z'), 1500))} AS plus`,
        `${d.isoText(d.skewCorrected(ts(d, '2026-03-01T00:00:10Z'), ts(d, '2026-03-01T00:00:05Z'), ts(d, '2026-03-01T00:00:01Z')))} AS corrected`,
        `${d.isoText(d.timestampFromMicros('1772323200000000'))} AS from_micros`,
        `${d.parseTimestamp(`'not a time'`)} AS unparseable`,
        `CAST(${d.dayOf(ts(d, '2026-03-01T23:59:59Z'))} AS VARCHAR) AS day`,
        `${d.isoText(d.toTimestamp('$1'))} AS bound_time`,
        `${d.isoText(d.toTimestamp(`'2026-03-01 10:20:30.123456'`))} AS text_time`,
        `${d.timestampText(ts(d, '2026-03-01T10:20:30.120Z'))} AS text_fraction`,
        `${d.timestampText(ts(d, '2026-03-01T10:20:00Z'))} AS text_whole`,
        `${d.timestampText(d.toTimestamp(`'2026-03-01 10:20:30.000450'`))} AS text_micros`,
      ].join(', '),
    params: [new Date('2026-03-01T10:20:30.123Z')],
  },
  {
    name: 'text, numbers and hashes',
    select: (d) =>
      [
        `${d.hashHex(`'abc'`)} AS md5`,
        `${d.sha256Hex(`'abc'`)} AS sha`,
        `${d.unitHash(`'abc'`)} AS unit`,
        `${d.toDouble(`'1.5'`)} AS dbl`,
        `${d.toDouble(`'x'`)} AS not_dbl`,
        `${d.textContains(`'hello'`, `'ell'`)} AS contains`,
        `${d.joinText('-', [`'a'`, 'NULL', `'b'`])} AS joined`,
        `${d.listItem(d.splitText(`'a,b,c'`, ','), 1)} AS second`,
        `${d.arrayLength(d.compactArray([`'a'`, 'NULL', `'c'`]))} AS compact`,
        `${d.arrayLength(d.splitWhitespace(`'  a  b c '`))} AS words`,
        `${d.power('2', '10')} AS pow`,
        `${d.textLiteral("it's")} AS literal`,
      ].join(', '),
  },
  {
    name: 'bound list membership',
    select: (d) => `${d.inTextList(`'b'`, '$1')} AS yes, ${d.inTextList(`'z'`, '$1')} AS no`,
    params: [JSON.stringify(['a', 'b'])],
  },
  {
    name: 'aggregates: arg-max, latest value keeping NULL, any/all, median, quantiles, JSON aggregates',
    rows: [
      ['k1', 'first', '2026-01-01T00:00:00Z', 1],
      ['k2', 'second', '2026-01-02T00:00:00Z', 2],
      ['k3', null, '2026-01-03T00:00:00Z', 4],
      ['k2', 'dup', '2026-01-01T12:00:00Z', null],
    ],
    select: (d) =>
      [
        `${d.argMax('v', 'ts')} AS arg_max`,
        `${d.argMin('v', 'ts')} AS arg_min`,
        `${d.latestValue('v', 'ts', 'k', 'n IS NOT NULL')} AS latest`,
        `${d.boolOr('n > 3')} AS any_big`,
        `${d.boolAnd('k IS NOT NULL')} AS all_keyed`,
        `${d.median('n')} AS med`,
        `${d.quantile('n', 0.9)} AS p90`,
        `${d.jsonArrayAgg('k', 'n IS NOT NULL')} AS keys`,
        `${d.jsonArrayAgg('k', 'TRUE', { distinct: true })} AS distinct_keys`,
        `${d.jsonArrayAgg('k', 'n > 100')} AS none`,
      ].join(', '),
  },
];

async function evaluate(wh: Warehouse, c: Case, rowsOf: (typeof ENGINE_SQL)['duckdb']['rows']) {
  const d = wh.dialect;
  const from = c.rows
    ? ` FROM (SELECT k, v, ${d.parseTimestamp('t')} AS ts, n FROM ${rowsOf(
        ['k', 'v', 't', 'n'],
        c.rows.map((r) =>
          r.map((v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : d.textLiteral(v))),
        ),
      )}) AS x`
    : '';
  const [row] = await wh.query(`SELECT ${c.select(d)}${from}`, c.params ?? []);
  // Engines type a bare boolean as BOOLEAN or UInt8, and round the last bit of a double differently.
  const comparable = (v: unknown) =>
    typeof v === 'boolean' ? Number(v) : typeof v === 'number' ? Number(v.toPrecision(15)) : v;
  return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, comparable(v)]));
}

describe('the DuckDB and ClickHouse dialects agree', () => {
  let duck: Warehouse;
  let house: Warehouse;
  before(async () => {
    duck = await openDuckDB({ path: ':memory:' });
    house = await openChdbForTest();
  });
  after(async () => {
    await duck.close();
    await house.close();
  });
  test('inTexts: a placeholder per value up to a thousand, one JSON parameter beyond, FALSE for none; the same rows on both', async () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `k${i}`);
    const stored = keys.slice(0, 20);
    assert.deepEqual(inTexts(duck.dialect, 'k', ['a', 'b']), { sql: 'k IN (?, ?)', params: ['a', 'b'] });
    assert.deepEqual(inTexts(duck.dialect, 'k', keys), {
      sql: duck.dialect.inTextList('k', '?'),
      params: [JSON.stringify(keys)],
    });
    for (const [wh, rowsOf] of [
      [duck, ENGINE_SQL.duckdb.rows],
      [house, ENGINE_SQL.clickhouse.rows],
    ] as const) {
      const relation = rowsOf(
        ['k'],
        stored.map((k) => [`'${k}'`]),
      );
      for (const wanted of [[], ['k3', 'k17', 'k999', 'absent'], keys]) {
        const { sql, params } = inTexts(wh.dialect, 'k', wanted);
        const rows = await wh.query<{ k: string }>(
          `SELECT k FROM ${relation} WHERE ${sql} ORDER BY k`,
          params,
        );
        assert.deepEqual(
          rows.map((r) => r.k),
          stored.filter((k) => wanted.includes(k)).sort(),
          `${wh.engine}, ${wanted.length} wanted`,
        );
      }
    }
  });

  test('jsonMembersJoin: one row per member of an object, none for NULL, empty or non-objects', async () => {
    const members = (wh: Warehouse, rowsOf: (typeof ENGINE_SQL)['duckdb']['rows']) => {
      const d = wh.dialect;
      const rows = [
        [`'a'`, `'{"x":1,"y":"two","z":{"n":[1,2]},"w":null}'`],
        [`'b'`, 'NULL'],
        [`'c'`, `'{}'`],
        [`'d'`, `'[1,2]'`],
        [`'e'`, `'"text"'`],
        [`'f'`, `'{"dup":1,"dup":2}'`],
      ];
      return wh.query(
        `SELECT e.k AS k, m.key AS key, m.value AS value
         FROM ${d.jsonMembersJoin(`(SELECT k, v FROM ${rowsOf(['k', 'v'], rows)}) e`, 'e.v', 'm')}
         ORDER BY k, key, CAST(value AS ${d.columnType('text')})`,
      );
    };
    const expected = await members(duck, ENGINE_SQL.duckdb.rows);
    assert.deepEqual(
      expected.map((r) => [r.k, r.key, String(r.value)]),
      [
        ['a', 'w', 'null'],
        ['a', 'x', '1'],
        ['a', 'y', '"two"'],
        ['a', 'z', '{"n":[1,2]}'],
        ['f', 'dup', '1'],
        ['f', 'dup', '2'],
      ],
    );
    assert.deepEqual(await members(house, ENGINE_SQL.clickhouse.rows), expected);
  });

  test('aggregateIf per group: the matching rows only; a count of none 0, any other aggregate of none NULL', async () => {
    const grouped = async (wh: Warehouse, rowsOf: (typeof ENGINE_SQL)['duckdb']['rows']) => {
      const d = wh.dialect;
      const rows = [
        ['k1', 'first', 1],
        ['k2', 'second', 2],
        ['k2', 'dup', null],
        ['k3', null, 4],
        ['k3', 'third', 8],
      ].map((r) =>
        r.map((v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : d.textLiteral(v))),
      );
      const found = await wh.query(
        `SELECT k, ${d.aggregateIf('count(*)', 'n > 1')} AS count, ${d.aggregateIf('count(DISTINCT v)', 'n > 1')} AS values,
                ${d.aggregateIf('sum(n)', 'n > 1')} AS sum, ${d.aggregateIf('avg(n)', 'n > 1')} AS avg,
                ${d.aggregateIf('max(n)', 'n > 1')} AS max, ${d.aggregateIf('min(v)', 'n > 1')} AS min_v,
                ${d.aggregateIf(d.median('n'), 'n > 1')} AS med
         FROM ${rowsOf(['k', 'v', 'n'], rows)} GROUP BY k ORDER BY k`,
      );
      return found.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [
            k,
            typeof v === 'bigint' || typeof v === 'number' ? Number(v) : v,
          ]),
        ),
      );
    };
    const expected = [
      { k: 'k1', count: 0, values: 0, sum: null, avg: null, max: null, min_v: null, med: null },
      { k: 'k2', count: 1, values: 1, sum: 2, avg: 2, max: 2, min_v: 'second', med: 2 },
      { k: 'k3', count: 2, values: 1, sum: 12, avg: 6, max: 8, min_v: 'third', med: 6 },
    ];
    assert.deepEqual(await grouped(duck, ENGINE_SQL.duckdb.rows), expected);
    assert.deepEqual(await grouped(house, ENGINE_SQL.clickhouse.rows), expected);
  });

  // The import counts repeated message ids by their hashes: NULL ids must not count as one repeated id.
  test('hash64: equal texts alike, different texts apart, NULL stays NULL', async () => {
    for (const wh of [duck, house]) {
      const d = wh.dialect;
      const [r] = await wh.query<Record<string, unknown>>(
        `SELECT ${d.hash64(`'abc'`)} = ${d.hash64(`'ab' || 'c'`)} AS alike, ${d.hash64(`'abc'`)} = ${d.hash64(`'abd'`)} AS apart,
           ${d.hash64('NULL')} IS NULL AS stays_null`,
      );
      assert.deepEqual(
        Object.values(r!).map((v) => Boolean(Number(v))),
        [true, false, true],
        wh.engine,
      );
    }
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const expected = await evaluate(duck, c, ENGINE_SQL.duckdb.rows);
      const actual = await evaluate(house, c, ENGINE_SQL.clickhouse.rows);
      assert.deepEqual(actual, expected);
      if (process.env.SHOW) console.log(JSON.stringify(actual));
    });
  }
});
