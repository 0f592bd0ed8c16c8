// CI: the native modules `npm ci` installed load and answer on the Node.js running this script (run once per Node
// version .ci/run tests): DuckDB (N-API bindings), chdb (the embedded ClickHouse engine, when installed) and esbuild
// (the binary tsx and Vite run). Exits 1 naming the module that failed.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const checks = {
  '@duckdb/node-api': async () => {
    const { DuckDBInstance } = require('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const reader = await (await db.connect()).runAndReadAll('SELECT 40 + 2 AS x');
    return Number(reader.getRowObjects()[0].x);
  },
  chdb: async () => {
    let chdb;
    try {
      chdb = await import('chdb');
    } catch (e) {
      if (e?.code === 'ERR_MODULE_NOT_FOUND') return 'not installed (optional)';
      throw e;
    }
    return Number(String(chdb.query('SELECT 40 + 2', 'CSV')).trim());
  },
  esbuild: async () => {
    const { transform } = await import('esbuild');
    return (await transform('const x: number = 42; export default x', { loader: 'ts' })).code.includes('42')
      ? 42
      : 0;
  },
};
let failed = false;
for (const [name, check] of Object.entries(checks)) {
  try {
    const got = await check();
    if (got !== 42 && typeof got !== 'string') throw new Error(`answered ${got}, not 42`);
    console.log(`${name}: loads on Node ${process.version}${typeof got === 'string' ? ` — ${got}` : ''}`);
  } catch (e) {
    failed = true;
    console.error(`${name}: does not load on Node ${process.version}: ${e?.message ?? e}`);
  }
}
process.exit(failed ? 1 : 0);
