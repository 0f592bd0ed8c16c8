// Finding of issue 24: `measure report` of a misspelled play said "no exposures" instead of "no such play".
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { playWithKnownLift } from '../helpers/play-with-lift.js';
import { tempDir } from '../helpers/temp.js';

test('measure report of a misspelled play says "no such play" with did-you-mean, not "no exposures"', async () => {
  const dir = tempDir();
  const wh = await openWarehouse({ path: join(dir, 'segflow.duckdb') });
  await playWithKnownLift(wh, 200, 7);
  await wh.close();
  const r = await segflowHere(['measure', 'report', 'spring-perk', '--json'], dir);
  assert.equal(r.status, 1);
  const e = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
  assert.equal(e.code, 'NOT_FOUND');
  assert.equal(e.message, "no such play 'spring-perk' — did you mean 'spring-perks'?");
  assert.match(e.hint, /plays that have run: spring-perks/);
  const right = await segflowHere(['measure', 'report', 'spring-perks', '--json'], dir);
  assert.equal(right.status, 0, right.stderr);
});
