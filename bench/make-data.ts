import { benchDatabase } from './dataset.js';

/**
 * Builds (and caches in bench/data/) the benchmark shop without timing anything, so a later `npm run bench -- refresh`
 * (or `-- dashboard`, `-- segments`) measures only its own work. Args: --people N (1,000,000) --days D (1).
 *
 * @example
 * node --import tsx bench/make-data.ts --people 1000000
 */
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const { wh, events, persons, path } = await benchDatabase({
  people: arg('--people', 1_000_000),
  days: arg('--days', 1),
});
await wh.close();
process.stdout.write(
  `${path}: ${events.toLocaleString('en-US')} events, ${persons.toLocaleString('en-US')} people\n`,
);
