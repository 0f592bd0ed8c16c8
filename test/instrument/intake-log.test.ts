import assert from 'node:assert/strict';
import {
  appendFileSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatPosition, IntakeLog, parsePosition } from '../../src/instrument/intake-log.js';
import { tempDir } from '../helpers/temp.js';

const records = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}\u001fé✓`);
const segmentFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();

describe('intake log', () => {
  test('frames appended before a restart come back after it, from the loaded position on', async () => {
    const dir = tempDir('segflow-intake-');
    const log = await IntakeLog.open(dir, undefined);
    const first = await log.append(records('a', 3));
    const second = await log.append(records('b', 2));
    await log.close();

    const all = await IntakeLog.open(dir, undefined);
    assert.deepEqual(
      all.unloaded.map((f) => f.records),
      [records('a', 3), records('b', 2)],
    );
    assert.deepEqual(
      all.unloaded.map((f) => f.end),
      [first, second],
    );
    await all.close();

    // Loaded up to the first frame: only the second comes back.
    const rest = await IntakeLog.open(dir, first);
    assert.deepEqual(
      rest.unloaded.map((f) => f.records),
      [records('b', 2)],
    );
    await rest.close();
    // Loaded everything: nothing comes back.
    const none = await IntakeLog.open(dir, second);
    assert.equal(none.unloaded.length, 0);
    await none.close();
  });

  test('a torn frame at the end (a crash mid-write) is cut off; whole frames before it survive', async () => {
    const dir = tempDir('segflow-intake-');
    const log = await IntakeLog.open(dir, undefined);
    await log.append(records('kept', 4));
    const torn = await log.append(records('torn', 4));
    await log.close();
    const file = join(dir, segmentFiles(dir).at(-1)!);
    truncateSync(file, torn.offset - 5);

    const reopened = await IntakeLog.open(dir, undefined);
    assert.deepEqual(
      reopened.unloaded.map((f) => f.records),
      [records('kept', 4)],
    );
    assert.ok(reopened.discardedBytes > 0);
    // The damaged tail is gone from the file: only whole frames remain.
    assert.equal(statSync(file).size, reopened.unloaded[0]!.end.offset);
    await reopened.close();
  });

  test('a frame whose bytes do not match its checksum ends the segment', async () => {
    const dir = tempDir('segflow-intake-');
    const log = await IntakeLog.open(dir, undefined);
    await log.append(records('good', 2));
    await log.append(records('flipped', 2));
    await log.close();
    const file = join(dir, segmentFiles(dir).at(-1)!);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(file, bytes);
    const reopened = await IntakeLog.open(dir, undefined);
    assert.deepEqual(
      reopened.unloaded.map((f) => f.records),
      [records('good', 2)],
    );
    await reopened.close();
  });

  test('appends after a restart go to a new segment numbered after everything before, even an emptied directory', async () => {
    const dir = tempDir('segflow-intake-');
    const log = await IntakeLog.open(dir, undefined);
    const a = await log.append(records('a', 1));
    await log.close();
    const again = await IntakeLog.open(dir, a);
    const b = await again.append(records('b', 1));
    await again.close();
    assert.ok(b.segment > a.segment);
    assert.equal(segmentFiles(dir).length, 2);

    // Loaded through b: the older segment is deleted, the current one stays.
    const third = await IntakeLog.open(dir, b);
    third.removeLoaded(b);
    assert.ok(!segmentFiles(dir).includes(`${String(a.segment).padStart(10, '0')}.log`));
    await third.close();

    // A position from a database whose log directory was emptied: new segments still number after it.
    const empty = tempDir('segflow-intake-');
    const fresh = await IntakeLog.open(empty, { segment: 41, offset: 1000 });
    const c = await fresh.append(records('c', 1));
    assert.ok(c.segment > 41);
    await fresh.close();
    assert.deepEqual(
      (await IntakeLog.open(empty, { segment: 41, offset: 1000 })).unloaded.map((f) => f.records),
      [records('c', 1)],
    );
  });

  test('garbage appended to a segment by something else is discarded, not loaded', async () => {
    const dir = tempDir('segflow-intake-');
    const log = await IntakeLog.open(dir, undefined);
    await log.append(records('x', 1));
    await log.close();
    appendFileSync(join(dir, segmentFiles(dir).at(-1)!), 'not a frame at all');
    const reopened = await IntakeLog.open(dir, undefined);
    assert.deepEqual(
      reopened.unloaded.map((f) => f.records),
      [records('x', 1)],
    );
    await reopened.close();
  });

  test('positions round-trip through their text form, and anything else is no position', () => {
    assert.deepEqual(parsePosition(formatPosition({ segment: 12, offset: 3456 })), {
      segment: 12,
      offset: 3456,
    });
    assert.equal(parsePosition('12'), undefined);
    assert.equal(parsePosition(undefined), undefined);
  });

  test('a log written with another record layout is refused with what to do, not misread', async () => {
    const dir = tempDir('segflow-intake-');
    const log = await IntakeLog.open(dir, undefined);
    await log.append(records('old', 1));
    await log.close();
    writeFileSync(join(dir, 'FORMAT'), 'segflow intake log 0: message_id,type\n');
    await assert.rejects(IntakeLog.open(dir, undefined), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'INTAKE_LOG_UNAVAILABLE');
      assert.match(e.hint ?? '', /start that version/);
      return true;
    });
  });

  test('a directory removed while the log is open is made again, so later frames are not written to a deleted file', async () => {
    const dir = tempDir('segflow-intake-');
    const log = await IntakeLog.open(dir, undefined);
    await log.append(records('before', 1));
    rmSync(dir, { recursive: true, force: true });
    const after = await log.append(records('after', 2));
    await log.close();
    const reopened = await IntakeLog.open(dir, undefined);
    assert.deepEqual(
      reopened.unloaded.map((f) => f.records),
      [records('after', 2)],
    );
    assert.deepEqual(reopened.unloaded[0]!.end, after);
    await reopened.close();
  });
});
