import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeGeneratedFiles } from '../../src/generate/index.js';

/**
 * Streaming: writing ~2M events keeps the heap bounded (a memory bound, not a timing). The generator holds one person
 * at a time and the writer a few 1 MB chunks, so the heap stays near its starting size; 200 MB leaves room for the
 * garbage collector's slack while still failing loudly if events were accumulated (2M events are ~1.5 GB as objects).
 */

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segflow-generate-stream-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

describe('streaming writer', () => {
  it('writes ~2M events with bounded heap growth and reports progress', async () => {
    const out = join(dir, 'events.ndjson');
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const progress: [number, number][] = [];
    const result = await writeGeneratedFiles({
      people: 7400,
      days: 90,
      seed: 99,
      profile: 'ecommerce',
      out,
      onProgress: (people, events) => {
        progress.push([people, events]);
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      },
    });
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    const growthMb = (peak - baseline) / 2 ** 20;

    assert.ok(result.events > 1_800_000, `${result.events} events`);
    assert.ok(growthMb < 200, `heap grew by ${growthMb.toFixed(0)} MB`);
    assert.equal(result.people, 7400);
    assert.equal(result.bytes, (await stat(out)).size);
    assert.equal(await countLines(out), result.events);
    assert.equal(await countLines(result.truthPath), 7400);

    // Progress is reported along the way, never goes backwards, and ends at the totals.
    assert.ok(progress.length > 100, `${progress.length} progress calls`);
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i]![0] >= progress[i - 1]![0] && progress[i]![1] >= progress[i - 1]![1]);
    }
    assert.deepEqual(progress.at(-1), [7400, result.events]);
  });
});
