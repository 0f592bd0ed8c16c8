import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packagePath } from '../config/package-files.js';
import { SegflowError } from '../errors.js';
import { interactiveTerminal, keepDashboardOpen } from './dashboard-section.js';
import { demoEngine } from './demo-engine.js';
import { cdnowDemo, shopDemo } from './run-demo.js';

/**
 * The end-to-end demo (`npm start`): runs every capability that works today and prints a report a growth marketer
 * can read. Each new capability joins it.
 *
 *   npm start                            simulated e-commerce shop (5,000 people, 120 days), on DuckDB
 *   npm start -- --people 300            smaller (CI's smoke test)
 *   npm start -- --cdnow                 the bundled CDNOW purchase log instead
 *   npm start -- --engine clickhouse     the same on ClickHouse, embedded (needs `npm install chdb`)
 */
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cdnow: { type: 'boolean', default: false },
      people: { type: 'string', default: '5000' },
      days: { type: 'string', default: '120' },
      seed: { type: 'string', default: '1' },
      engine: { type: 'string', default: 'duckdb' },
    },
  });
  const dir = join(process.cwd(), '.demo');
  const engine = demoEngine(values.engine, dir);
  // Before any work: an engine that is not installed is said at once, with how to get it.
  await engine.check();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  say(`segflow demo — ${engine.title}\n`);
  if (values.cdnow) await cdnowDemo(engine);
  else {
    await shopDemo({
      dir,
      engine,
      people: Number(values.people),
      days: Number(values.days),
      seed: Number(values.seed),
    });
  }
  say(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s. Explore the same database:`);
  const { setup, cli } = engine.explore('demo');
  for (const line of setup) say(`   ${line}`);
  say(`   ${cli} stats`);
  say(`   ${cli} report rfm
   ${cli} models report churn`);
  say(`   ${cli} segments preview champion --dir ${packagePath('examples', 'segments')}`);
  say(
    `   ${cli} sql "SELECT person_id, count(*) AS orders FROM person_events WHERE event = 'Order Completed' GROUP BY 1 ORDER BY 2 DESC LIMIT 5"`,
  );
  say(
    `   ${cli} persons show ${values.cdnow ? '00004' : 'ID   # any userId or anonymousId from the sql above'}`,
  );
  say(
    `   npm start -- --cdnow${engine.name === 'duckdb' ? '' : ` --engine ${engine.name}`}            # the same on the CDNOW purchase log`,
  );
  if (interactiveTerminal()) {
    await keepDashboardOpen({
      ...engine.serverOptions('demo'),
      ...(values.cdnow
        ? {}
        : {
            segmentsDir: packagePath('examples', 'segments'),
            playbook: packagePath('examples', 'playbooks', 'classic.yaml'),
          }),
    });
  }
}

try {
  await main();
} catch (e) {
  // A mistake the user can fix (an unknown engine, chdb not installed): what and how, without a stack trace.
  if (!(e instanceof SegflowError)) throw e;
  process.stderr.write(`segflow demo: ${e.message}\n${e.hint ? `   ${e.hint}\n` : ''}`);
  process.exitCode = 1;
}
