// Bundles the `segflow` command into dist/cli-bundle/ (run by bin/segflow.js), one chunk per lazily loaded command
// module. Why: Node loads each ES module file separately, and the CLI's pure-JS dependencies are many files (zod's
// ESM build alone is about a hundred), so loading them cost most of a short command's time. Packages with native code
// or files of their own (DuckDB's bindings, fastify and its logger's worker files, nodemailer) stay in node_modules.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const BUNDLED = new Set(['commander', 'croner', 'yaml', 'zod']);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name));
const outdir = new URL('../dist/cli-bundle/', import.meta.url).pathname;

/** Where the bundled CLI finds DuckDB's JavaScript API: one file beside the chunks (see `duckdbApiOneFile`). */
const DUCKDB_API_FILE = 'duckdb-node-api.cjs';

/**
 * Node's `child_process` (with `net`, `dgram` and the stream internals it loads) cost a command about 5–15 ms to
 * compile at start-up, and two packages require it at the top of a module for a path segflow never takes: commander
 * to run executable subcommands (segflow has none), detect-libc (loaded by DuckDB's bindings to tell glibc from musl)
 * to run `ldd` when reading /proc/self/exe and /usr/bin/ldd did not tell. In the bundle each gets the module on first
 * use instead. The build fails if either line is no longer there, rather than silently bundling the eager require.
 */
const LAZY_CHILD_PROCESS = [
  {
    file: /[\\/]commander[\\/]lib[\\/]command\.js$/,
    line: "const childProcess = require('node:child_process');",
  },
  {
    file: /[\\/]detect-libc[\\/]lib[\\/]detect-libc\.js$/,
    line: "const childProcess = require('child_process');",
  },
];
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    for (const { file, line } of LAZY_CHILD_PROCESS) {
      b.onLoad({ filter: file }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes(line))
          throw new Error(`${args.path} no longer has \`${line}\`: see lazyChildProcess`);
        return {
          contents: source.replace(
            line,
            "const childProcess = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
          ),
          loader: 'js',
        };
      });
    }
  },
};

/**
 * `@duckdb/node-api` is pure JavaScript over the native `@duckdb/node-bindings`, but CommonJS in about 180 files:
 * resolving, reading and compiling them one by one cost every command about 50–90 ms before it opened a database
 * (measured with `--cpu-prof`). Here it becomes one CommonJS file, with the bindings' loader (which picks the
 * platform's package) and detect-libc; only the platform packages (the native library) stay external.
 */
async function duckdbApiOneFile() {
  await build({
    entryPoints: [new URL('../node_modules/@duckdb/node-api/lib/index.js', import.meta.url).pathname],
    outfile: `${outdir}${DUCKDB_API_FILE}`,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['@duckdb/node-bindings-*'],
    plugins: [lazyChildProcess],
    minify: true,
    logLevel: 'warning',
  });
}

/**
 * src/engine/duckdb/node-api.ts loads `@duckdb/node-api` with `require` from node_modules; in the bundle the same
 * module requires the one-file copy beside the chunks instead. Everything else about the module is unchanged.
 */
const duckdbApiBesideChunks = {
  name: 'duckdb-api-beside-chunks',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]engine[\\/]duckdb[\\/]node-api\.ts$/ }, () => ({
      loader: 'ts',
      contents: `import { createRequire } from 'node:module';
export const duckdb: typeof import('@duckdb/node-api') = createRequire(import.meta.url)('./${DUCKDB_API_FILE}');`,
    }));
  },
};

/**
 * zod re-exports its error messages in about 45 languages as the namespace `z.locales`, which no bundler can drop
 * (a namespace is one value): 260 kB of the 450 kB of minified zod that every command parsed. segflow speaks English
 * and never reads `z.locales` (zod's default, English, is set by its schemas' own import of locales/en.js), so in
 * the bundle the namespace holds `en` alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), args.path), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

// Chunk names carry content hashes: start from an empty directory so old chunks do not pile up.
rmSync(outdir, { recursive: true, force: true });
await duckdbApiOneFile();
await build({
  // k-means' worker thread is an entry of its own, written beside the chunks where kmeans-parallel.ts looks for it.
  entryPoints: {
    run: new URL('../src/cli/run.ts', import.meta.url).pathname,
    'kmeans-worker': new URL('../src/model/clusters/kmeans-worker.ts', import.meta.url).pathname,
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [...external, ...external.map((name) => `${name}/*`)],
  plugins: [duckdbApiBesideChunks, zodEnglishOnly, lazyChildProcess],
  // Less text for V8 to parse on every start (zod alone is about 750 kB unminified); names are kept so that errors
  // read, and the source map leads back to the sources. SEGFLOW_BUNDLE_MINIFY=0 keeps the text as is, so that a
  // CPU profile (`node --cpu-prof bin/segflow.js …`) names the functions.
  minify: process.env.SEGFLOW_BUNDLE_MINIFY !== '0',
  keepNames: true,
  // commander is CommonJS: its require() of Node's own modules needs a real require in each chunk.
  banner: {
    js: "import { createRequire as __segflowRequire } from 'node:module'; const require = __segflowRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});
