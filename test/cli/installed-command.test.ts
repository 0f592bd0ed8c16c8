import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Script } from 'node:vm';
import { tempDir } from '../helpers/temp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/segflow.js');

/** The `segflow` command as installed: bin/segflow.js runs the bundled CLI (dist/cli-bundle/, scripts/bundle-cli.mjs). */
function segflow(args: string[], cwd: string) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe('the installed segflow command (the bundled CLI)', () => {
  before(() => {
    // Bundled from the current sources, so this test never runs a stale bundle.
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it("loads DuckDB's API with the V8 code cache made at build time, which this Node accepts", () => {
    // The cache is of the API compiled in this wrapper (scripts/bundle-cli.mjs, API_WRAPPER); a rejected cache would
    // only cost the compilation it saves.
    const file = join(ROOT, 'dist/cli-bundle/duckdb-node-api.cjs');
    const script = new Script(
      `(function (exports, require, module, __filename, __dirname) {\n${readFileSync(file, 'utf8')}\n})`,
      { filename: file, lineOffset: -1, cachedData: readFileSync(`${file}.v8cache`) },
    );
    assert.equal(script.cachedDataRejected, false);
  });

  it('finds its package files from the bundle: --version and init', () => {
    const dir = tempDir();
    const version = segflow(['--version'], dir);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const init = segflow(['init'], dir);
    assert.equal(init.status, 0, init.stderr);
    assert.match(readFileSync(join(dir, 'segments', 'champion.yaml'), 'utf8'), /champion/i);
  });

  it("explains a bad config file in zod's English messages (the bundle keeps only that locale)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'segflow.config.yaml'), 'db: [1, 2]\n');
    const r = segflow(['models', 'report', 'bgnbd', '--json'], dir);
    assert.equal(r.status, 1, r.stderr);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /db: Invalid input: expected string, received array/);
  });

  it("runs k-means' passes on the worker threads written beside the bundle", () => {
    const dir = tempDir();
    // 300,000 rows × k = 8 is above the size from which the passes are shared with worker threads.
    const query = `SELECT 'p' || i AS person_id, (i % 7) + random() AS recency, (i % 5) * 2 + random() AS spend
      FROM range(300000) t(i)`;
    const r = segflow(
      [
        '--db',
        join(dir, 'k.duckdb'),
        'models',
        'fit',
        'clusters',
        '--query',
        query,
        '--column',
        'recency:lapsed:recent',
        '--column',
        'spend:big:small',
        '--k',
        '8',
        '--json',
      ],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    const fit = JSON.parse(r.stdout) as {
      people: number;
      params: { k: number; clusters: { size: number }[] };
    };
    assert.equal(fit.params.k, 8);
    assert.equal(fit.people, 300_000);
    assert.equal(
      fit.params.clusters.reduce((s, c) => s + c.size, 0),
      300_000,
    );
  });
});
