import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoEngine } from '../../src/demo/demo-engine.js';
import { realtimeSection } from '../../src/demo/realtime-section.js';
import { ENGINES } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The demo's real-time section (`npm start`), on the real clock with a real server and receiver, on each engine: the
 * abandoned cart's recovery webhook comes once its wait has ended (not before), once, and the shopper who paid gets
 * none.
 */
for (const engine of ENGINES) {
  test(`${engine.name}: the demo's abandonment is recovered when its wait ends, once, and not for the shopper who paid`, async () => {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    // The demo writes text; the test runner's own messages (bytes) go through.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
      typeof chunk === 'string'
        ? lines.push(chunk) > 0
        : write(chunk, ...rest)) as typeof process.stdout.write;
    let result: Awaited<ReturnType<typeof realtimeSection>>;
    try {
      const dir = tempDir(`segflow-demo-realtime-${engine.name}-`);
      result = await realtimeSection(dir, demoEngine(engine.name, dir));
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
}
