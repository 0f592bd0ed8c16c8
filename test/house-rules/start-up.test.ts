import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sourceFiles } from './source-files.js';

/**
 * Every `segflow` command opens DuckDB, so how `@duckdb/node-api` is loaded is paid on each call. It is CommonJS in
 * many files: `import`ed from an ES module, Node sends each inner require through the ES module loader (about 0.35 s
 * more on this machine); src/engine/duckdb/node-api.ts loads it with `require` once, and everything else takes it
 * from there. Type-only imports cost nothing and are fine.
 */
describe('house rules: start-up cost', () => {
  it('only engine/duckdb/node-api.ts loads @duckdb/node-api as a value', () => {
    const valueImport = /^import\s+(?!type\b)[^;]*from\s+'@duckdb\/node-api'/m;
    const offenders = sourceFiles()
      .filter((f) => f.path !== 'engine/duckdb/node-api.ts' && valueImport.test(f.text))
      .map((f) => f.path);
    assert.deepEqual(offenders, [], "import it from './node-api.js' (or use `import type`)");
  });
});
