import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sourceFiles, stringLiterals } from './source-files.js';

/**
 * Engine-specific SQL lives only in src/engine/ (docs/ARCHITECTURE.md): the steps call the engine's ports and the
 * dialect's expressions. This scan reads every string and template literal of src/ outside src/engine/ and looks for
 * constructs that only some engines accept.
 *
 * A construct marked `todo` is still written outside src/engine/ while the storage ports are being built (issue 18,
 * item 3): its test runs and reports where, but does not fail the run. When the last use moves behind a port, drop
 * its `todo` so it can never come back.
 */
interface Construct {
  name: string;
  pattern: RegExp;
  /** Why it is engine-specific: what another engine writes instead. */
  why: string;
  todo?: true;
}

const CONSTRUCTS: Construct[] = [
  {
    name: 'INSERT … ON CONFLICT',
    pattern: /\bON\s+CONFLICT\b/i,
    why: 'Postgres/DuckDB upsert; ClickHouse has ReplacingMergeTree, others MERGE',
  },
  {
    name: 'CREATE TEMP TABLE',
    pattern: /\bCREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+TABLE\b/i,
    why: 'session-scoped scratch tables differ per engine (ClickHouse: Memory tables or CTEs)',
  },
  {
    name: 'UPDATE … FROM',
    pattern: /\bUPDATE\s+[\w.]+\s+SET\b[^;]*?\bFROM\b/is,
    why: 'Postgres/DuckDB join-update; ClickHouse mutates with ALTER TABLE … UPDATE',
  },
  {
    name: 'unnest(from_json(…))',
    pattern: /\bunnest\s*\(\s*from_json\s*\(/i,
    why: 'DuckDB JSON-to-list; the dialect has inTextList',
  },
  {
    name: 'quantile_cont',
    pattern: /\bquantile_cont\s*\(/i,
    why: 'DuckDB/Postgres; ClickHouse: quantile',
  },
  {
    name: 'SELECT * EXCLUDE',
    pattern: /\*\s*EXCLUDE\s*\(/i,
    why: 'DuckDB star modifier; ClickHouse writes * EXCEPT',
  },
  {
    name: 'ASOF JOIN',
    pattern: /\bASOF\s+(?:LEFT\s+)?JOIN\b/i,
    why: 'DuckDB/ClickHouse spell it differently',
  },
  {
    name: 'INSERT OR REPLACE / OR IGNORE',
    pattern: /\bINSERT\s+OR\s+(?:REPLACE|IGNORE)\b/i,
    why: 'SQLite/DuckDB shorthand',
  },
  {
    name: 'file-reading table functions',
    pattern: /\bread_(?:json|json_auto|ndjson|csv|csv_auto|parquet)\s*\(/i,
    why: 'DuckDB table functions; ClickHouse reads files with file()/url()',
  },
  {
    name: ':: casts',
    pattern: /[\w)\]?]::\s*[A-Za-z]/,
    why: 'Postgres/DuckDB shorthand; CAST(x AS T) is standard',
  },
  { name: 'arg_max / arg_min', pattern: /\barg_(?:max|min)\s*\(/i, why: 'DuckDB; ClickHouse: argMax' },
  { name: 'QUALIFY', pattern: /\bQUALIFY\b/, why: 'DuckDB/Snowflake/ClickHouse only' },
  {
    name: 'json_extract',
    pattern: /\bjson_extract(?:_string)?\s*\(/i,
    why: 'DuckDB/SQLite; ClickHouse: JSONExtract',
  },
  {
    name: 'FILTER (WHERE …)',
    pattern: /\bFILTER\s*\(\s*WHERE\b/i,
    why: 'the aggregate filter clause, which engines spell differently (ClickHouse: -If combinators); the dialect has aggregateIf',
  },
  { name: 'PRAGMA / ATTACH', pattern: /^\s*(?:PRAGMA|ATTACH)\b/im, why: 'DuckDB/SQLite session statements' },
  { name: 'COPY … TO', pattern: /\bCOPY\s*\(/i, why: 'DuckDB/Postgres export statement' },
];

interface Hit {
  file: string;
  line: number;
  text: string;
}

function scan(pattern: RegExp): Hit[] {
  const hits: Hit[] = [];
  for (const file of sourceFiles()) {
    if (file.path.startsWith('engine/')) continue;
    for (const literal of stringLiterals(file)) {
      if (pattern.test(literal.text)) {
        hits.push({
          file: file.path,
          line: literal.line,
          text: literal.text.replace(/\s+/g, ' ').slice(0, 100),
        });
      }
    }
  }
  return hits;
}

describe('house rules: engine-specific SQL only in src/engine/', () => {
  it('the scanner finds a construct in a string and ignores comments', () => {
    const literals = stringLiterals({
      path: 'x.ts',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal, scanned as a file.
      text: '// INSERT … ON CONFLICT in a comment\nconst q = `UPDATE t SET a = ${1} FROM x`; const r = "ASOF JOIN";',
    });
    assert.deepEqual(
      literals.map((l) => l.text),
      ['UPDATE t SET a = {expr} FROM x', 'ASOF JOIN'],
    );
  });

  for (const construct of CONSTRUCTS) {
    it(
      `no ${construct.name} outside src/engine/`,
      construct.todo ? { todo: 'the lead moves it behind a port' } : {},
      () => {
        const hits = scan(construct.pattern);
        assert.deepEqual(
          hits.map((h) => `${h.file}:${h.line}: ${h.text}`),
          [],
          `${construct.name} is engine-specific (${construct.why}); call an engine port or the dialect instead`,
        );
      },
    );
  }
});
