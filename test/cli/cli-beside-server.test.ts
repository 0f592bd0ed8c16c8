import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { servedFilePath } from '../../src/cli/served-database.js';
import { openWarehouse } from '../../src/engine/open.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { LOCAL_CLI_PATH } from '../../src/server/local-cli-route.js';
import { type CliResult, segflowAsync } from '../helpers/cli.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { CDNOW_SAMPLE, tempDir } from '../helpers/temp.js';
import { type ServeProcess, spawnServe } from '../server/helpers.js';

/**
 * The CLI beside a running server: with a real `segflow serve` process holding a database, the same commands run
 * from other processes print what they print, and exit as they exit, on a copy of that database with no server.
 * Both sides run in their own folder with the same relative names (db.duckdb, segments/, export.json), so relative
 * paths in commands and in their output must mean the caller's folder for the two to agree.
 */

const root = tempDir('segflow-beside-server-');
const served = join(root, 'served');
const alone = join(root, 'alone');
let server: ServeProcess;

function writeProject(dir: string): void {
  mkdirSync(join(dir, 'segments'), { recursive: true });
  writeFileSync(
    join(dir, 'segments', 'repeat.yaml'),
    'name: repeat\nwhere:\n  performed: { event: Order Completed, atLeast: 2 }\n',
  );
}

before(async () => {
  for (const dir of [served, alone]) writeProject(dir);
  const wh = await openWarehouse({ path: join(served, 'db.duckdb') });
  await importFile(wh, { path: CDNOW_SAMPLE, preset: 'cdnow', rejectsPath: null });
  await wh.close();
  copyFileSync(join(served, 'db.duckdb'), join(alone, 'db.duckdb'));
  server = await spawnServe(join(served, 'db.duckdb'));
});

after(async () => {
  if (server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

/**
 * Durations and the time of an export differ from run to run; so do the last bits of sums of doubles over tables a
 * refresh wrote (the engine writes in parallel, so rows land in another order: two plain local refreshes of two copies
 * of one file differ there too), hence 12 significant digits. Everything else must not differ.
 */
function steady(text: string): string {
  return text
    .replace(/-?\d+\.\d+(e-?\d+)?/g, (x) => String(Number(Number(x).toPrecision(12))))
    .replace(/"exported_at": "[^"]+"/g, '"exported_at": <time>')
    .replace(/\d+(\.\d+)? s\b/g, '<t> s')
    .replace(/"(seconds|ms|elapsedMs|rowsPerSecond)": [\d.e+-]+/g, '"$1": <t>')
    .replace(/\([\d,]+ rows\/s\)/g, '(<n> rows/s)');
}

async function bothWays(args: string[]): Promise<{ server: CliResult; alone: CliResult }> {
  const throughServer = await segflowAsync(['--db', 'db.duckdb', ...args], { cwd: served });
  const withoutServer = await segflowHere(['--db', 'db.duckdb', ...args], alone);
  const label = `segflow ${args.join(' ')}`;
  assert.equal(throughServer.status, withoutServer.status, `${label}: exit code\n${throughServer.stderr}`);
  assert.equal(steady(throughServer.stdout), steady(withoutServer.stdout), `${label}: stdout`);
  assert.equal(steady(throughServer.stderr), steady(withoutServer.stderr), `${label}: stderr`);
  return { server: throughServer, alone: withoutServer };
}

test('with segflow serve holding the database, the CLI prints what it prints without the server', async () => {
  assert.ok(existsSync(servedFilePath(join(served, 'db.duckdb'))), 'the server advertises itself');
  assert.equal(statSync(servedFilePath(join(served, 'db.duckdb'))).mode & 0o777, 0o600);

  // An error first: the same message, hint and exit code (and the one JSON document with --json).
  const early = await bothWays(['report', 'rfm', '--as-of', '1998-07-01']);
  assert.equal(early.server.status, 1);
  assert.match(early.server.stderr, /no features have been computed yet/);
  await bothWays(['report', 'rfm', '--as-of', '1998-07-01', '--json']);

  const refreshed = await bothWays(['refresh', '--as-of', '1998-07-01']);
  assert.equal(refreshed.server.status, 0, refreshed.server.stderr);
  assert.match(refreshed.server.stdout, /repeat/, 'the segments folder is the caller’s ./segments');

  for (const args of [
    ['report', 'rfm', '--as-of', '1998-07-01'],
    ['report', 'rfm', '--as-of', '1998-07-01', '--json'],
    ['segments', 'preview', 'repeat', '--as-of', '1998-07-01'],
    ['segments', 'preview', 'repeat', '--as-of', '1998-07-01', '--json'],
    ['refresh', '--as-of', '1998-07-01', '--json'],
    ['privacy', 'export', '00004'],
    ['privacy', 'export', 'nobody-has-this', '--json'],
    ['sql', 'SELECT count(*) AS events, count(DISTINCT user_id) AS people FROM events'],
    ['sql', 'SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event', '--json'],
    ['sql', 'DELETE FROM events'],
  ]) {
    const r = await bothWays(args);
    if (args[0] !== 'sql' || !args[1]!.startsWith('DELETE')) continue;
    assert.equal(r.server.status, 1, 'sql stays read-only through the server');
  }

  // A file named relatively is written in the caller's folder, with the same content.
  const exported = await bothWays(['privacy', 'export', '00004', '--out', 'export.json']);
  assert.equal(exported.server.stdout, 'export.json\n');
  assert.deepEqual(
    steadyExport(readFileSync(join(served, 'export.json'), 'utf8')),
    steadyExport(readFileSync(join(alone, 'export.json'), 'utf8')),
  );
  const rows = await segflowAsync(
    ['--db', 'db.duckdb', 'sql', 'SELECT count(*) AS n FROM events', '--json'],
    {
      cwd: served,
    },
  );
  assert.deepEqual(JSON.parse(rows.stdout).rows, [{ n: 6919 }], 'the server’s database, not a new file');
});

/** An export records when it was made; the rest is the person's data. */
function steadyExport(text: string): unknown {
  return JSON.parse(text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>'));
}

test('a command that needs the database closed says who holds it and what to do', async () => {
  const r = await segflowAsync(['--db', 'db.duckdb', 'privacy', 'erase'], { cwd: served });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`segflow serve\` \\(pid ${server.child.pid}`));
  assert.match(r.stderr, /hint: stop the server/);
  const second = await segflowAsync(['--db', 'db.duckdb', 'serve', '--port', '0'], { cwd: served });
  assert.equal(second.status, 1);
  assert.match(second.stderr, /one server per database/);
});

test('the local endpoint takes only the local token', async () => {
  const served_ = JSON.parse(readFileSync(servedFilePath(join(served, 'db.duckdb')), 'utf8')) as {
    url: string;
    token: string;
  };
  const body = JSON.stringify({
    argv: ['sql', 'SELECT 1'],
    cwd: served,
    db: join(served, 'db.duckdb'),
    stderrIsTTY: false,
  });
  for (const authorization of [undefined, 'Bearer not-the-token', `Bearer ${served_.token.slice(1)}x`]) {
    const res = await fetch(`${served_.url}${LOCAL_CLI_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body,
    });
    assert.equal(res.status, 401, String(authorization));
  }
});

test('a command that comes while the server is still starting waits for it instead of failing on the lock', async () => {
  // What the server writes before it opens the database: its pid, no address yet.
  const path = servedFilePath(join(served, 'db.duckdb'));
  const full = readFileSync(path, 'utf8');
  const { pid, db, startedAt } = JSON.parse(full) as { pid: number; db: string; startedAt: string };
  writeFileSync(path, JSON.stringify({ pid, db, startedAt }), { mode: 0o600 });
  const pending = segflowAsync(['--db', 'db.duckdb', 'sql', 'SELECT count(*) AS n FROM events', '--json'], {
    cwd: served,
  });
  let settled = false;
  void pending.then(() => {
    settled = true;
  });
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal(settled, false, 'the command waits while the server starts');
  writeFileSync(path, full, { mode: 0o600 });
  const r = await pending;
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).rows, [{ n: 6919 }]);
});

test('after a clean shutdown the file is gone; a stale one (its process gone) is ignored', async () => {
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  const advert = servedFilePath(join(served, 'db.duckdb'));
  assert.equal(existsSync(advert), false);
  // A file left by a server killed with -9: its pid no longer runs.
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  writeFileSync(
    advert,
    JSON.stringify({
      pid: gone,
      url: 'http://127.0.0.1:9',
      token: 'x'.repeat(43),
      db: join(served, 'db.duckdb'),
      startedAt: new Date().toISOString(),
    }),
    { mode: 0o600 },
  );
  const r = await segflowAsync(['--db', 'db.duckdb', 'sql', 'SELECT count(*) AS n FROM events', '--json'], {
    cwd: served,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).rows, [{ n: 6919 }]);
});
