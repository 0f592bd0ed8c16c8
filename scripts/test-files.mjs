// `npm test`'s file list: the files known to run longest first, then the rest in name order. The runner starts files
// in the order given, two at a time; in name order the longest (the streaming differential and the crash suites, 2–3
// min each) came last, so one worker ran alone for minutes at the end. Longest first, the two end together.
// Durations are from a clean-clone CI run (per file, in seconds); a file missing from the list only runs later.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const LONGEST_FIRST = [
  'test/pipeline/stream-differential.test.ts', // 181
  'test/server/crash.test.ts', // 168
  'test/server/clickhouse-outage.test.ts', // 116
  'test/segment/differential.test.ts', // 98
  'test/model/differential.test.ts', // 93
  'test/docs/docs-examples.test.ts', // 79
  'test/ui/dashboard.test.ts', // 67
  'test/instrument/persons-on-events.test.ts', // 57
  'test/cli/clickhouse-engine.test.ts', // 50
  'test/demo/demo-engines.test.ts', // 48
  'test/engine/clickhouse-http-import.test.ts', // 45
  'test/engine/clickhouse-import.test.ts', // 44
  'test/server/fuzz.test.ts', // 41
  'test/cli/cli-beside-server.test.ts', // 40
  'test/server/dashboard-reads.test.ts', // 38
  'test/instrument/generated-identity.test.ts', // 37
  'test/firsthour/first-hour.test.ts', // 34
];

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const all = testFiles('test').sort();
const present = new Set(all);
const first = LONGEST_FIRST.filter((f) => present.has(f));
const rest = all.filter((f) => !first.includes(f));
process.stdout.write(`${[...first, ...rest].join('\n')}\n`);
