// The scripted first hour of issue 24: a new user in a clean directory, using only commands the README and docs show —
// init → generate → import → own segments → playbook with a local webhook receiver → refresh → activate → measure →
// privacy — with each step's output checked. The CLI runs as a child process, as it would in a terminal.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SECRET, startReceiver } from '../activate/helpers.js';
import { type CliResult, segflowAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

test('the first hour: init, generate, import, own segments, a playbook with a webhook receiver, refresh, activate, measure, privacy', async (t) => {
  const dir = tempDir('segflow-first-hour-');
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const run = async (...args: string[]): Promise<CliResult> => {
    const r = await segflowAsync(args, { cwd: dir });
    assert.equal(r.status, 0, `segflow ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await run(...args, '--json')).stdout) as T;

  // init: a project to edit.
  const init = await json<{ written: string[] }>('init');
  for (const f of ['segflow.config.yaml', 'playbook.yaml', join('segments', 'champion.yaml')])
    assert.ok(init.written.includes(f) && existsSync(join(dir, f)), f);

  // generate and import: six months of a simulated shop.
  const gen = await json<{ events: number; people: number }>(
    'generate',
    '--people',
    '200',
    '--days',
    '181',
    '--seed',
    '24',
    '--profile',
    'ecommerce',
    '--out',
    'events.ndjson',
  );
  assert.equal(gen.people, 200);
  const imported = await json<{ inserted: number; rejected: number }>('import', 'events.ndjson');
  assert.equal(imported.inserted, gen.events);
  assert.equal(imported.rejected, 0);

  // Two segments of one's own, checked and previewed.
  writeFileSync(
    join(dir, 'segments', 'recent-buyers.yaml'),
    'name: recent-buyers\nlabel: Recent buyers\nwhere:\n  performed: { event: Order Completed, within: 14d }\n',
  );
  writeFileSync(
    join(dir, 'segments', 'big-spenders.yaml'),
    'name: big-spenders\nwhere:\n  and:\n    - performed: { event: Order Completed, atLeast: 2, within: 60d }\n    - feature: rfm.monetary_total\n      gte: 100\n',
  );
  const check = await run('segments', 'check');
  assert.match(
    check.stdout,
    /6 segments in \.\/segments: all valid/,
    'the four starters and the two new ones',
  );
  const preview = await json<{ size: number }>(
    'segments',
    'preview',
    'recent-buyers',
    '--as-of',
    '2026-05-01',
  );
  assert.ok(preview.size > 0, 'people bought in the two weeks before 1 May');

  // A playbook of one's own with a local webhook receiver (Standard Webhooks, signed).
  writeFileSync(
    join(dir, 'playbook.yaml'),
    [
      'timezone: UTC',
      'destinations:',
      `  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }`,
      'consent: { default: allow }',
      'plays:',
      '  - name: thank-recent-buyers',
      '    segment: recent-buyers',
      '    offer: a thank-you note',
      '    channel: webhook',
      '    destination: hook',
      '    trigger: { on: enter }',
      '    kpi: repeat_rate',
      '    holdout: 0.2',
    ].join('\n'),
  );
  await run('playbook', 'check');

  // refresh → activate: the first run starts the play; people entering after it are reached.
  await run('refresh', '--as-of', '2026-04-01');
  await run('activate', 'run', '--as-of', '2026-04-01');
  const refreshed = await json<{ segments: { name: string; entered: number }[] }>(
    'refresh',
    '--as-of',
    '2026-04-15',
  );
  const entered = refreshed.segments.find((s) => s.name === 'recent-buyers')!.entered;
  assert.ok(entered > 0, 'people entered recent-buyers in the first half of April');
  const activated = await json<{ plays: { play: string; occurrences: number }[] }>(
    'activate',
    'run',
    '--as-of',
    '2026-04-15',
  );
  assert.equal(activated.plays.find((p) => p.play === 'thank-recent-buyers')!.occurrences, entered);
  assert.ok(receiver.requests.length > 0 && receiver.requests.length < entered, 'the holdout gets nothing');
  for (const { headers, body } of receiver.requests) {
    const payload = new Webhook(SECRET).verify(body, {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    }) as { play: string };
    assert.equal(payload.play, 'thank-recent-buyers');
  }
  const sent = await json<{ status: string }[]>('deliveries', 'list', '--status', 'sent', '--limit', '1000');
  assert.equal(sent.length, receiver.requests.length);

  // measure: the play's lift against its holdout.
  const report = await json<{ arms: { arm: string; people: number }[]; rows: { kpi: string }[] }>(
    'measure',
    'report',
    'thank-recent-buyers',
    '--as-of',
    '2026-06-30',
  );
  const arms = Object.fromEntries(report.arms.map((a) => [a.arm, a.people]));
  assert.equal(arms.treatment, receiver.requests.length, 'the treatment arm is who was messaged');
  assert.equal((arms.holdout ?? 0) + (arms.treatment ?? 0), entered, 'every entrant is in one arm');
  assert.ok(report.rows.length > 0, 'lift per KPI');

  // privacy: export one reached person's data, then delete them everywhere.
  const person = (JSON.parse(receiver.requests[0]!.body) as { person: { id: string } }).person.id;
  const exported = await run('privacy', 'export', person, '--json');
  assert.match(exported.stdout, new RegExp(person));
  await run('privacy', 'delete', person, '--json');
  const gone = await segflowAsync(['persons', 'show', person, '--json'], { cwd: dir });
  assert.equal(gone.status, 1);
  assert.equal((JSON.parse(gone.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');
  assert.ok(readFileSync(join(dir, 'segflow.config.yaml'), 'utf8').includes('db: ./segflow.duckdb'));
});
