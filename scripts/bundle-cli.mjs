// Bundles the `segflow` command into dist/cli-bundle/ (run by bin/segflow.js), one chunk per lazily loaded command
// module. Why: Node loads each ES module file separately, and the CLI's pure-JS dependencies are many files (zod's
// ESM build alone is about a hundred), so loading them cost most of a short command's time. Packages with native code
// or files of their own (DuckDB, fastify and its logger's worker files, nodemailer) stay in node_modules.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const BUNDLED = new Set(['commander', 'croner', 'yaml', 'zod']);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name));

await build({
  // k-means' worker thread is an entry of its own, written beside the chunks where kmeans-parallel.ts looks for it.
  entryPoints: {
    run: new URL('../src/cli/run.ts', import.meta.url).pathname,
    'kmeans-worker': new URL('../src/model/clusters/kmeans-worker.ts', import.meta.url).pathname,
  },
  outdir: new URL('../dist/cli-bundle/', import.meta.url).pathname,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [...external, ...external.map((name) => `${name}/*`)],
  // commander is CommonJS: its require() of Node's own modules needs a real require in each chunk.
  banner: {
    js: "import { createRequire as __segflowRequire } from 'node:module'; const require = __segflowRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});
