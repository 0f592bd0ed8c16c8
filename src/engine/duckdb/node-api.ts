import { createRequire } from 'node:module';

/**
 * `@duckdb/node-api`, loaded with `require` rather than `import`. The package is CommonJS in 60 files; imported from
 * ES modules, Node 20 sends every inner `require` through the ES module loader and lexes each file, which made
 * loading it take about 0.55 s instead of 0.19 s — paid by every CLI command before it does anything.
 *
 * @example
 * import { duckdb } from './node-api.js';
 * const instance = await duckdb.DuckDBInstance.create(':memory:');
 */
export const duckdb: typeof import('@duckdb/node-api') = createRequire(import.meta.url)('@duckdb/node-api');
