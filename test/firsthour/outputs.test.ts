// Findings of issue 24 about what commands show: deliveries list without sent-at and variant, and privacy exports
// with properties as JSON strings inside JSON.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import { at, DAY, events, identify, refresh, SECRET, startReceiver, track } from '../activate/helpers.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { tempDir } from '../helpers/temp.js';

async function deliveredProject(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = tempDir();
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const wh = await openWarehouse({ path: join(dir, 'segflow.duckdb') });
  const pb = parsePlaybook(`consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - name: welcome
    segment: recent-buyers
    offer: welcome pack
    channel: webhook
    destination: hook
    variants: [{ name: warm, content: { headline: hi } }]
`);
  // The play starts before Ann buys, so her entry is news to it (not history).
  await runActivation(wh, pb, { asOf: at(0) });
  await events(wh, [
    identify('ann', at(0), { email: 'ann@example.com', plan: 'pro' }),
    track('ann', 'Order Completed', at(DAY), { properties: { total: 42, items: ['a', 'b'] } }),
  ]);
  await refresh(wh, at(2 * DAY));
  await runActivation(wh, pb, { asOf: at(2 * DAY) });
  await wh.close();
  return dir;
}

test('deliveries list shows when each delivery was sent and its variant', async (t) => {
  const dir = await deliveredProject(t);
  const r = await segflowHere(['deliveries', 'list'], dir);
  assert.equal(r.status, 0, r.stderr);
  const [header, , row] = r.stdout.split('\n');
  assert.match(header!, /\bvariant\b/);
  assert.match(header!, /\bsent_at\b/);
  // Columns start where their header starts (cells may be empty).
  const starts = [...header!.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  const values = Object.fromEntries(
    starts.map((c, i) => [c.name, row!.slice(c.at, starts[i + 1]?.at ?? row!.length).trim()]),
  );
  assert.equal(values.status, 'sent');
  assert.equal(values.variant, 'warm');
  assert.match(values.sent_at!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('a privacy export writes properties, traits and context as JSON objects, not JSON strings', async (t) => {
  const dir = await deliveredProject(t);
  const r = await segflowHere(['privacy', 'export', 'ann', '--out', 'ann.json'], dir);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(readFileSync(join(dir, 'ann.json'), 'utf8')) as {
    events: { type: string; properties: unknown; traits: unknown }[];
    traits: { key: string; value: unknown }[];
  };
  const order = doc.events.find((e) => e.type === 'track')!;
  assert.deepEqual(order.properties, { total: 42, items: ['a', 'b'] });
  const id = doc.events.find((e) => e.type === 'identify')!;
  assert.deepEqual(id.traits, { email: 'ann@example.com', plan: 'pro' });
  assert.equal(doc.traits.find((x) => x.key === 'plan')!.value, 'pro');
});
