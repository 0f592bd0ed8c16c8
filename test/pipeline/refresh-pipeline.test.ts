import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { demoRefresh } from '../../src/demo/model-section.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { loadDefinitions } from '../../src/segment/load-definitions.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer } from '../server/helpers.js';

/**
 * The refresh pipeline has one implementation: the CLI (`segflow refresh`), the server's cycle (`POST /api/v1/refresh`)
 * and the demo run it over copies of one database and give the same summary, memberships and audit trail — also for
 * an identity merge that arrived after the first refresh (folded in by the pipeline's squash step).
 */

const DAY = 86_400_000;
const T = Date.UTC(2026, 2, 1);
let n = 0;
const track = (
  userId: string | null,
  anonymousId: string | null,
  event: string,
  days: number,
  revenue?: number,
) => ({
  type: 'track',
  ...(userId ? { userId } : {}),
  ...(anonymousId ? { anonymousId } : {}),
  event,
  properties: revenue === undefined ? {} : { revenue },
  timestamp: new Date(T - days * DAY).toISOString(),
  messageId: `pl${++n}`,
});

type Summary = {
  persons: number;
  squashed: { overrides: number; events: number };
  features: { mode: string; recomputed: number; persons: number };
  segments: { name: string; size: number; entered: number; exited: number }[];
  segmentRefresh: { mode: string; recomputed: number; segments: unknown[] } | null;
  activation: unknown;
};
const essentials = (s: Summary) => ({
  persons: s.persons,
  squashed: s.squashed,
  features: [s.features.mode, s.features.recomputed, s.features.persons],
  segments: s.segments,
  segmentRefresh: s.segmentRefresh && [s.segmentRefresh.mode, s.segmentRefresh.recomputed],
  activation: s.activation,
});

async function trail(wh: Warehouse) {
  const members = await wh.query(
    'SELECT segment, person_id FROM segment_memberships WHERE exited_at IS NULL ORDER BY 1, 2',
  );
  const audited = await wh.query(
    `SELECT action, target FROM audit_log WHERE action LIKE 'segment.%' ORDER BY 1, 2`,
  );
  return { members, audited };
}

test('the CLI, the server cycle and the demo run one refresh pipeline and agree', async () => {
  const dir = tempDir();
  const segments = join(dir, 'segments');
  mkdirSync(segments);
  writeFileSync(
    join(segments, 'buyers.yaml'),
    'name: buyers\nwhere: { performed: { event: Order Completed, atLeast: 2, within: 30d } }\n',
  );
  writeFileSync(
    join(segments, 'browsers.yaml'),
    'name: browsers\nwhere: { performed: { event: Product Viewed, within: 7d } }\n',
  );
  const base = join(dir, 'base.duckdb');
  const seed = await openWarehouse({ path: base });
  await ingestMessages(
    seed,
    [
      track('ann', null, 'Order Completed', 10, 20),
      track('ann', null, 'Order Completed', 5, 30),
      track(null, 'anon-b', 'Order Completed', 4, 10),
      track('bo', null, 'Order Completed', 3, 15),
      track('cy', null, 'Product Viewed', 2),
    ],
    { source: 'test' },
  );
  // After those events were stored: bo was anon-b all along (a merge of two people who both have events).
  await ingestMessages(
    seed,
    [
      {
        type: 'identify',
        userId: 'bo',
        anonymousId: 'anon-b',
        messageId: 'pl-link',
        timestamp: new Date(T - DAY).toISOString(),
      },
    ],
    { source: 'test' },
  );
  await seed.close();
  const copies = ['cli', 'server', 'demo'].map((name) => {
    const path = join(dir, `${name}.duckdb`);
    copyFileSync(base, path);
    return path;
  });
  const asOf = new Date(T);

  const cli = segflow(
    ['--db', copies[0]!, 'refresh', '--as-of', asOf.toISOString(), '--dir', segments, '--json'],
    {
      cwd: dir,
    },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const fromCli = JSON.parse(cli.stdout) as Summary;

  const server = await startTestServer({
    dbPath: copies[1]!,
    segmentsDir: segments,
    playbook: join(dir, 'none.yaml'),
  });
  let fromServer: Summary;
  let serverTrail: Awaited<ReturnType<typeof trail>>;
  try {
    const r = await fetch(`${server.url}/api/v1/refresh`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ asOf: asOf.toISOString() }),
    });
    assert.equal(r.status, 200);
    fromServer = (await r.json()) as Summary;
    serverTrail = await trail(server.wh);
  } finally {
    await server.close();
  }

  const demoDb = await openWarehouse({ path: copies[2]! });
  let fromDemo: Summary;
  let demoTrail: Awaited<ReturnType<typeof trail>>;
  try {
    fromDemo = (await demoRefresh(demoDb, {
      asOf,
      full: false,
      segments: loadDefinitions(segments).definitions,
    })) as unknown as Summary;
    demoTrail = await trail(demoDb);
  } finally {
    await demoDb.close();
  }

  const cliDb = await openWarehouse({ path: copies[0]! });
  const cliTrail = await trail(cliDb);
  await cliDb.close();

  assert.deepEqual(
    fromCli.squashed,
    { overrides: 1, events: 1 },
    'the merge was folded into the events first',
  );
  assert.deepEqual(
    fromCli.segments.map((s) => [s.name, s.size]),
    [
      ['browsers', 1],
      ['buyers', 2],
    ],
  );
  assert.deepEqual(essentials(fromServer), essentials(fromCli));
  assert.deepEqual(essentials(fromDemo), essentials(fromCli));
  assert.ok(cliTrail.audited.length >= 2, 'new definitions are audited');
  assert.deepEqual(serverTrail, cliTrail);
  assert.deepEqual(demoTrail, cliTrail);
});
