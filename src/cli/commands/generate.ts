import type { Command } from 'commander';
import { SegflowError } from '../../errors.js';
import { writeGeneratedFiles } from '../../generate/index.js';
import { convertNdjsonToParquet } from '../../generate/to-parquet.js';
import { emit, progressBar } from '../output.js';

interface GenerateFlags {
  people: string;
  days: string;
  seed: string;
  profile: string;
  out: string;
  start?: string;
  json?: boolean;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new SegflowError(
      'USAGE',
      `${flag} must be a positive integer (got '${value}')`,
      `e.g. ${flag} 1000`,
    );
  return n;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description(
      'write realistic Segment-spec events from simulated people with known archetypes (and a ground-truth file)',
    )
    .option('--people <n>', 'people (ecommerce) or users (saas)', '1000')
    .option('--days <n>', 'length of the simulated window in days', '90')
    .option('--seed <n>', 'random seed: the same seed gives byte-identical output', '1')
    .option('--profile <name>', 'ecommerce | saas', 'ecommerce')
    .option('--start <iso-date>', 'day 0 of the window', '2026-01-01T00:00:00Z')
    .option('--out <file>', 'events file (.ndjson, or .parquet)', 'events.ndjson')
    .option('--json', 'print the summary as one JSON document')
    .action(async (flags: GenerateFlags) => {
      if (flags.profile !== 'ecommerce' && flags.profile !== 'saas') {
        throw new SegflowError(
          'USAGE',
          `--profile must be ecommerce or saas (got '${flags.profile}')`,
          '--profile saas',
        );
      }
      const parquet = flags.out.endsWith('.parquet');
      const ndjsonOut = parquet ? `${flags.out.slice(0, -'.parquet'.length)}.ndjson` : flags.out;
      const people = positiveInt(flags.people, '--people');
      const bar = progressBar('generating');
      const result = await writeGeneratedFiles({
        people,
        days: positiveInt(flags.days, '--days'),
        seed: Number(flags.seed),
        profile: flags.profile,
        start: flags.start ?? '2026-01-01T00:00:00Z',
        out: ndjsonOut,
        onProgress: (done, events) => bar.update(done / people, `${events.toLocaleString('en-US')} events`),
      });
      bar.done();
      if (parquet) await convertNdjsonToParquet(ndjsonOut, flags.out);
      const summary = { ...result, out: flags.out };
      emit(
        Boolean(flags.json),
        summary,
        () =>
          `wrote ${result.events.toLocaleString('en-US')} events for ${result.people.toLocaleString('en-US')} people to ${flags.out}\nground truth: ${result.truthPath}`,
      );
    });
}
