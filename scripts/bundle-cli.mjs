// Bundles the `segflow` command into dist/cli-bundle/ (run by bin/segflow.js), one chunk per lazily loaded command
// module. Why: Node loads each ES module file separately, and the CLI's pure-JS dependencies are many files (zod's
// ESM build alone is about a hundred), so loading them cost most of a short command's time. Packages with native code
// or files of their own (DuckDB's bindings, fastify and its logger's worker files, nodemailer) stay in node_modules.
import { spawnSync } from 'node:child_process';
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
 * V8's code cache for the one-file API, beside it: the API's bytecode, compiled at build time by running a typical
 * session (open, query, read columns and rows, append, close) and saved with `Script#createCachedData`. Compiling
 * the API's 200 kB took every command about 10 ms of its start; with the cache V8 deserializes the bytecode instead.
 * V8 checks that the cache was made by the same V8 (version and flags) from the same source and ignores it
 * otherwise (`cachedDataRejected`), so a different Node only compiles as before. Node 22's `module.enableCompileCache`
 * does this for every module, at run time; Node 20 has no such API.
 */
const DUCKDB_API_CACHE = `${DUCKDB_API_FILE}.v8cache`;

/**
 * The CommonJS wrapper the API is compiled in, the same at build and run time (the cache is of this exact text). The
 * source starts on the second line, so `lineOffset: -1` gives stack traces the file's own positions.
 */
const API_WRAPPER = ['(function (exports, require, module, __filename, __dirname) {\n', '\n})'];

/** A function's source that compiles the API file at `file` with `cachedData` and returns the Script and exports. */
const compileApiSource = `function compileApi(file, cachedData) {
  const { readFileSync } = require('node:fs');
  const { createRequire } = require('node:module');
  const { dirname } = require('node:path');
  const { Script } = require('node:vm');
  const source = ${JSON.stringify(API_WRAPPER[0])} + readFileSync(file, 'utf8') + ${JSON.stringify(API_WRAPPER[1])};
  const script = new Script(source, { filename: file, lineOffset: -1, cachedData });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { script, exports: module.exports };
}`;

/** Runs a typical session against the API in a fresh Node and writes the code cache; a failure only warns. */
function writeDuckdbApiCache() {
  const training = `${compileApiSource}
const file = process.argv[1];
const { script, exports: duckdb } = compileApi(file);
(async () => {
  const instance = await duckdb.DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  await conn.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false');
  await conn.run('CREATE TABLE t (id VARCHAR, ts TIMESTAMP, v DOUBLE, n BIGINT, b BOOLEAN)');
  const appender = await conn.createAppender('t');
  for (let i = 0; i < 3; i++) {
    appender.appendVarchar('p' + i);
    appender.appendValue(duckdb.timestampValue(BigInt(i) * 1000000n), duckdb.TIMESTAMP);
    appender.appendDouble(i / 3);
    appender.appendBigInt(BigInt(i));
    if (i === 1) appender.appendNull();
    else appender.appendBoolean(i > 0);
    appender.endRow();
  }
  appender.closeSync();
  const reader = await conn.runAndReadAll('SELECT * FROM t ORDER BY id');
  reader.getRowObjectsJS();
  const prepared = await conn.prepare('SELECT CAST(v AS DOUBLE) AS v, n, CASE WHEN b THEN v END AS m FROM t WHERE ts >= $1 AND id <> $2');
  prepared.bind([duckdb.timestampValue(0n), 'x'], [duckdb.TIMESTAMP, duckdb.VARCHAR]);
  const result = await prepared.run();
  prepared.destroySync();
  result.columnNames();
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    for (let j = 0; j < result.columnCount; j++) {
      const vector = chunk.getColumnVector(j);
      for (let i = 0; i < chunk.rowCount; i++) vector.getItem(i);
      void vector.type.typeId;
    }
  }
  const r = new duckdb.DuckDBResultReader(await conn.run('SELECT count(*) AS n FROM t'));
  await r.readAll();
  r.getRowObjectsJS();
  void conn.progress;
  await conn.run('PRAGMA disable_checkpoint_on_shutdown');
  conn.closeSync();
  instance.closeSync();
  require('node:fs').writeFileSync(file + '.v8cache', script.createCachedData());
})().catch((e) => { console.error(e); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', training, `${outdir}${DUCKDB_API_FILE}`], {
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    rmSync(`${outdir}${DUCKDB_API_CACHE}`, { force: true });
    console.warn(
      `no V8 code cache for the DuckDB API (the CLI compiles it at start-up): ${run.stderr.trim()}`,
    );
  }
}

/**
 * src/engine/duckdb/node-api.ts loads `@duckdb/node-api` with `require` from node_modules; in the bundle the same
 * module loads the one-file copy beside the chunks instead, compiled with its code cache when there is one.
 */
const duckdbApiBesideChunks = {
  name: 'duckdb-api-beside-chunks',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]engine[\\/]duckdb[\\/]node-api\.ts$/ }, () => ({
      loader: 'ts',
      contents: `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
${compileApiSource}

function load(): typeof import('@duckdb/node-api') {
  const file = fileURLToPath(new URL('./${DUCKDB_API_FILE}', import.meta.url));
  let cachedData: Buffer;
  try {
    cachedData = readFileSync(file + '.v8cache');
  } catch {
    return require(file);
  }
  return compileApi(file, cachedData).exports;
}

export const duckdb = load();`,
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
writeDuckdbApiCache();
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
