import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openWarehouse } from '../engine/open.js';
import { importFile } from '../instrument/import/import-file.js';
import { summarize } from '../instrument/summary.js';

/**
 * The end-to-end demo (`npm start`): runs every capability that works today on the embedded engine and prints a
 * report a growth marketer can read. Each new capability joins it.
 */
const CDNOW = new URL('../../test/fixtures/cdnow/CDNOW_master.txt', import.meta.url).pathname;

function money(n: number): string {
  return n.toLocaleString('en-US', { style: 'currency', currency: 'USD' });
}

async function main(): Promise<void> {
  const dir = join(process.cwd(), '.demo');
  const db = join(dir, 'demo.duckdb');
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(dir, { recursive: true });
  const wh = await openWarehouse({ path: db });
  try {
    console.log('segflow demo — embedded engine (DuckDB), no setup\n');
    console.log('1. Instrument: importing the CDNOW purchase log (1997–98)…');
    const imp = await importFile(wh, { path: CDNOW, preset: 'cdnow', rejectsPath: null });
    console.log(
      `   ${imp.inserted.toLocaleString('en-US')} purchases imported in ${imp.seconds.toFixed(1)} s, ${imp.rejected} rejected`,
    );
    const s = await summarize(wh);
    const [repeat] = await wh.query<{ repeaters: number; one_and_done: number }>(
      `SELECT count(*) FILTER (WHERE n > 1) AS repeaters, count(*) FILTER (WHERE n = 1) AS one_and_done
       FROM (SELECT person_id, count(*) AS n FROM person_events WHERE event = 'Order Completed' GROUP BY person_id)`,
    );
    console.log('\nWhat the data says');
    console.log(`   customers           ${s.persons.toLocaleString('en-US')}`);
    console.log(`   purchases           ${s.events.toLocaleString('en-US')}`);
    console.log(`   revenue             ${money(s.revenue)}`);
    console.log(`   revenue / customer  ${money(s.revenue / Math.max(1, s.persons))}`);
    console.log(
      `   bought again        ${repeat!.repeaters.toLocaleString('en-US')} (${((100 * repeat!.repeaters) / Math.max(1, s.persons)).toFixed(1)}%); ` +
        `one purchase only: ${repeat!.one_and_done.toLocaleString('en-US')}`,
    );
    console.log(
      `   period              ${s.firstEvent?.toISOString().slice(0, 10)} … ${s.lastEvent?.toISOString().slice(0, 10)}`,
    );
    console.log('\nNext');
    console.log(`   npx segflow --db ${db} persons show 00004`);
    console.log(
      `   npx segflow --db ${db} sql "SELECT person_id, count(*) AS orders FROM person_events GROUP BY 1 ORDER BY 2 DESC LIMIT 5"`,
    );
  } finally {
    await wh.close();
  }
}

await main();
