import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSegflowError } from '../../src/errors.js';
import {
  DEFAULT_MIX,
  defaultTruthPath,
  type GenerateOptions,
  generateEvents,
  writeGeneratedFiles,
} from '../../src/generate/index.js';
import { isoTimestamp, toJsonLine } from '../../src/generate/person.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'segflow-generate-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function run(
  name: string,
  opts: GenerateOptions,
): Promise<{ events: string; truth: string; count: number }> {
  const out = join(dir, `${name}.ndjson`);
  const result = await writeGeneratedFiles({ ...opts, out });
  return { events: await sha256(out), truth: await sha256(result.truthPath), count: result.events };
}

describe('deterministic output', () => {
  for (const profile of ['ecommerce', 'saas'] as const) {
    it(`${profile}: same options give byte-identical files; another seed gives other bytes`, async () => {
      const opts: GenerateOptions = { people: 400, days: 60, seed: 20260101, profile };
      const first = await run(`${profile}-a`, opts);
      const second = await run(`${profile}-b`, opts);
      const otherSeed = await run(`${profile}-c`, { ...opts, seed: 20260102 });
      assert.ok(first.count > 10_000, `only ${first.count} events`);
      assert.equal(second.events, first.events);
      assert.equal(second.truth, first.truth);
      assert.notEqual(otherSeed.events, first.events);
      assert.notEqual(otherSeed.truth, first.truth);
    });
  }

  it('gives a person the same behaviour whatever the number of people generated', () => {
    const few = [...generateEvents({ people: 5, days: 30, seed: 9, profile: 'ecommerce' })];
    const more = [...generateEvents({ people: 50, days: 30, seed: 9, profile: 'ecommerce' })];
    assert.deepEqual(more.slice(0, 5), few);
  });

  it('writes each line exactly as JSON.stringify would', () => {
    for (const profile of ['ecommerce', 'saas'] as const) {
      for (const unit of generateEvents({ people: 60, days: 30, seed: 4, profile })) {
        for (const ev of unit.events) assert.equal(toJsonLine(ev), `${JSON.stringify(ev)}\n`);
      }
    }
  });

  it('formats timestamps exactly as Date#toISOString', () => {
    for (const ms of [
      0,
      1,
      999,
      86_399_999,
      1_767_225_600_000,
      1_767_225_600_000 + 45_296_789,
      253_402_300_799_999,
    ]) {
      assert.equal(isoTimestamp(ms), new Date(ms).toISOString());
    }
    assert.equal(isoTimestamp(-1), new Date(-1).toISOString());
    assert.equal(isoTimestamp(253_402_300_800_000), new Date(253_402_300_800_000).toISOString());
  });

  it('names the truth file after the events file unless told', async () => {
    assert.equal(defaultTruthPath('/x/events.ndjson'), '/x/events.truth.ndjson');
    assert.equal(defaultTruthPath('/x/events.json'), '/x/events.json.truth.ndjson');
    const out = join(dir, 'named.ndjson');
    const truthOut = join(dir, 'elsewhere.ndjson');
    const result = await writeGeneratedFiles({
      people: 3,
      days: 5,
      seed: 1,
      profile: 'ecommerce',
      out,
      truthOut,
    });
    assert.equal(result.truthPath, truthOut);
    assert.equal(result.people, 3);
    const truthLines = (await readFile(truthOut, 'utf8')).trim().split('\n');
    assert.equal(truthLines.length, 3);
    const events = await readFile(out);
    assert.equal(result.bytes, events.length);
    assert.equal(events.toString('utf8').trim().split('\n').length, result.events);
  });
});

describe('option checks', () => {
  const base: GenerateOptions = { people: 10, days: 10, seed: 1, profile: 'ecommerce' };
  const bad: [string, GenerateOptions][] = [
    ['negative people', { ...base, people: -1 }],
    ['fractional days', { ...base, days: 1.5 }],
    ['zero days', { ...base, days: 0 }],
    ['non-integer seed', { ...base, seed: 0.5 }],
    ['unparseable start', { ...base, start: 'next tuesday' }],
    ['unknown archetype', { ...base, archetypeMix: { whale: 1 } }],
    ['saas archetype on ecommerce', { ...base, archetypeMix: { healthy: 1 } }],
    ['negative weight', { ...base, archetypeMix: { churning: -1 } }],
    [
      'all weights zero',
      { ...base, archetypeMix: Object.fromEntries(Object.keys(DEFAULT_MIX.ecommerce).map((k) => [k, 0])) },
    ],
  ];
  for (const [name, opts] of bad) {
    it(`rejects ${name} with a USAGE error when called`, () => {
      assert.throws(
        () => generateEvents(opts),
        (e: unknown) => isSegflowError(e) && e.code === 'USAGE' && e.hint !== undefined,
      );
    });
  }

  it('rejects bad options before creating any file', async () => {
    const out = join(dir, 'never.ndjson');
    await assert.rejects(writeGeneratedFiles({ ...base, days: 0, out }), (e: unknown) => isSegflowError(e));
    await assert.rejects(readFile(out), { code: 'ENOENT' });
  });

  it('refuses to write events and truth to the same file', async () => {
    const out = join(dir, 'same.ndjson');
    await assert.rejects(writeGeneratedFiles({ ...base, out, truthOut: out }), (e: unknown) =>
      isSegflowError(e),
    );
  });

  it('reports a file it cannot create', async () => {
    await assert.rejects(writeGeneratedFiles({ ...base, out: join(dir, 'missing-dir', 'x.ndjson') }), {
      code: 'ENOENT',
    });
  });

  it('generates nothing for zero people', () => {
    assert.deepEqual([...generateEvents({ ...base, people: 0 })], []);
    assert.deepEqual([...generateEvents({ ...base, profile: 'saas', people: 0 })], []);
  });
});
