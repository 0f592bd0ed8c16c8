// Findings of issue 24: `playbook check` passed playbooks that fail later, and its errors were the validator's text.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';

/** A project with one segment (champion) and a playbook whose one play is given as YAML lines. */
function project(play: string[]): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'segments'));
  writeFileSync(
    join(dir, 'segments', 'champion.yaml'),
    'name: champion\nwhere:\n  performed: { event: Order Completed, atLeast: 4, within: 90d }\n',
  );
  writeFileSync(
    join(dir, 'playbook.yaml'),
    [
      'plays:',
      '  - name: perks',
      '    offer: loyalty perks',
      '    channel: email',
      ...play.map((l) => `    ${l}`),
    ].join('\n'),
  );
  return dir;
}

async function check(dir: string): Promise<{ status: number | null; message: string }> {
  const r = await segflowHere(['playbook', 'check', '--json'], dir);
  const doc = JSON.parse(r.stdout) as { error?: { message: string } };
  return { status: r.status, message: doc.error?.message ?? '' };
}

test('playbook check refuses a segment that does not exist (the play would never fire), with did-you-mean', async () => {
  const ok = await check(project(['segment: champion']));
  assert.equal(ok.status, 0, ok.message);
  const r = await check(project(['segment: champions']));
  assert.equal(r.status, 1);
  assert.match(
    r.message,
    /playbook\.yaml:5 plays\.0\.segment: no segment 'champions', so the play would never fire/,
  );
  assert.match(r.message, /use one of champion or add segments\/champions\.yaml — did you mean 'champion'\?/);
});

test('playbook check refuses a cron of "every monday" (activate run failed on it as "a bug in segflow")', async () => {
  const r = await check(project(['segment: champion', 'trigger: { on: schedule, cron: "every monday" }']));
  assert.equal(r.status, 1);
  assert.match(
    r.message,
    /playbook\.yaml:6 plays\.0\.trigger\.cron: 'every monday' is not a cron expression/,
  );
  assert.match(r.message, /e\.g\. "0 9 \* \* 1" for Mondays 09:00/);
  const fine = await check(project(['segment: champion', 'trigger: { on: schedule, cron: "0 9 * * 1" }']));
  assert.equal(fine.status, 0, fine.message);
});

test('playbook check refuses a KPI that is not defined, naming the defined ones and measure.kpis', async () => {
  const r = await check(project(['segment: champion', 'kpi: repeat_rat']));
  assert.equal(r.status, 1);
  assert.match(r.message, /plays\.0\.kpi: no KPI 'repeat_rat'; use one of .*repeat_rate/);
  assert.match(r.message, /define it under measure\.kpis in segflow\.config\.yaml/);
  assert.match(r.message, /did you mean 'repeat_rate'\?/);
  // A KPI defined in the config is accepted.
  const dir = project(['segment: champion', 'kpi: trial_conversion']);
  writeFileSync(
    join(dir, 'segflow.config.yaml'),
    'measure:\n  kpis:\n    trial_conversion: { kind: conversion, event: Subscribed, within: 14d }\n',
  );
  const defined = await check(dir);
  assert.equal(defined.status, 0, defined.message);
});

test('playbook errors are sentences with the fix, not raw validator text (Invalid discriminator value…)', async () => {
  const r = await check(project(['segment: champion', 'trigger: { on: entr }', 're_entry: onse', 'kpii: x']));
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.message, /Invalid discriminator|Unrecognized key|Invalid input/);
  assert.match(
    r.message,
    /plays\.0\.trigger\.on: 'entr' is not a trigger; use enter, exit or schedule — did you mean 'enter'\?/,
  );
  assert.match(
    r.message,
    /plays\.0\.re_entry: 'onse' is not a valid re_entry; use once, every_time or \{ at_most_once_per: 30d \}/,
  );
  assert.match(r.message, /plays\.0: unknown key 'kpii' .* did you mean 'kpi'\?/);
});

test('a YAML syntax error in a playbook is printed once, with its line', async () => {
  const dir = project(['segment: [champion', 'kpi: : x']);
  const r = await segflowHere(['playbook', 'check'], dir);
  assert.equal(r.status, 1);
  const lines = r.stderr.split('\n').filter((l) => /not valid YAML/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /playbook\.yaml:\d+ \(file\): not valid YAML at column \d+: /);
});
