import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realtimeSection } from '../../src/demo/realtime-section.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The demo's real-time section (`npm start`), on the real clock with a real server and receiver: the abandoned cart's
 * recovery webhook comes once its wait has ended (not before), once, and the shopper who paid gets none.
 */
test("the demo's abandonment is recovered when its wait ends, once, and not for the shopper who paid", async () => {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => lines.push(chunk) > 0) as typeof process.stdout.write;
  let result: Awaited<ReturnType<typeof realtimeSection>>;
  try {
    result = await realtimeSection(tempDir('segflow-demo-realtime-'));
  } finally {
    process.stdout.write = write;
  }
  assert.deepEqual(
    result.webhooks.map((w) => w.person),
    ['ann'],
  );
  assert.ok(result.webhooks[0]!.at.getTime() >= result.due.getTime(), 'not before the wait ends');
  assert.match(lines.join(''), /recovery webhook reached the shop/);
});
