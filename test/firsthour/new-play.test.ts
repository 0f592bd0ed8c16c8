// Finding of issue 24: a new play silently counts its segment's current members as history; say so, and offer
// --include-current to decide about them on its first run.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { at, DAY, events, refresh, SECRET, startReceiver, track } from '../activate/helpers.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';

interface Summary {
  plays: {
    play: string;
    occurrences: number;
    queued: number;
    started?: { currentMembers: number; included: boolean };
  }[];
}

async function projectWithMembers(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = tempDir();
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const wh = await openWarehouse({ path: join(dir, 'segflow.duckdb') });
  await events(wh, [track('ann', 'Order Completed', at(0)), track('bob', 'Order Completed', at(DAY))]);
  await refresh(wh, at(2 * DAY));
  await wh.close();
  const play = (name: string) =>
    `  - { name: ${name}, segment: recent-buyers, offer: thanks, channel: webhook, destination: hook }`;
  writeFileSync(
    join(dir, 'playbook.yaml'),
    [
      'consent: { default: allow }',
      'destinations:',
      `  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }`,
      'plays:',
      play('thanks'),
    ].join('\n'),
  );
  return { dir, receiver, play };
}

test("a new play says that its segment's current members count as history, and --include-current decides about them", async (t) => {
  const { dir, receiver } = await projectWithMembers(t);
  const asOf = at(2 * DAY).toISOString();
  const first = await segflowHere(['activate', 'run', '--as-of', asOf], dir);
  assert.equal(first.status, 0, first.stderr);
  assert.match(
    first.stdout,
    /new play thanks: its segment's 2 current members count as history and get nothing; .*--include-current/,
  );
  assert.equal(receiver.ids.size, 0);

  // The same play, new under another name, run with --include-current: both members are decided about and sent.
  const fresh = await projectWithMembers(t);
  const included = await segflowHere(
    ['activate', 'run', '--as-of', asOf, '--include-current', '--json'],
    fresh.dir,
  );
  assert.equal(included.status, 0, included.stderr);
  const summary = JSON.parse(included.stdout) as Summary;
  assert.deepEqual(summary.plays[0]!.started, { currentMembers: 2, included: true });
  assert.equal(summary.plays[0]!.occurrences, 2);
  assert.equal(fresh.receiver.ids.size, 2);
  // A second run does not send them again (the first run's occurrences are keyed per person).
  const again = await segflowHere(
    ['activate', 'run', '--as-of', asOf, '--include-current', '--json'],
    fresh.dir,
  );
  const second = JSON.parse(again.stdout) as Summary;
  assert.equal(second.plays[0]!.started, undefined, 'only the first run starts the play');
  assert.equal(fresh.receiver.ids.size, 2);
});
