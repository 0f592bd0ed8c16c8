import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { fromWorkingDir } from '../../config/working-dir.js';
import { SegflowError } from '../../errors.js';
import { cliActor } from '../../govern/audit.js';
import { featureSource } from '../../model/feature-catalog.js';
import { modelConfig } from '../../model/model-config.js';
import { runRefreshPipeline } from '../../pipeline/refresh-pipeline.js';
import type { SegmentDefinition } from '../../segment/definition.js';
import { definitionReferences } from '../../segment/definition-references.js';
import {
  DEFAULT_SEGMENTS_DIR,
  formatProblem,
  type LoadResult,
  loadDefinitions,
} from '../../segment/load-definitions.js';
import { membershipHistory, previewSegment, segmentMembers } from '../../segment/memberships.js';
import { segmentReport } from '../../segment/segment-report.js';
import { didYouMeanSuffix } from '../../shared/did-you-mean.js';
import { parseAsOf, withWarehouse } from '../context.js';
import { emit, log, table } from '../output.js';
import { pipelineProgress } from '../pipeline-progress.js';
import { asOfWarnings } from '../warnings.js';

interface DirFlags {
  dir?: string;
}

function segmentsDir(flags: DirFlags): string {
  return flags.dir ?? loadConfig().segments ?? DEFAULT_SEGMENTS_DIR;
}

function failOnProblems(loaded: LoadResult): void {
  if (loaded.problems.length === 0) return;
  throw new SegflowError(
    'SEGMENT_INVALID',
    `${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'} in segment files:\n${loaded.problems.map(formatProblem).join('\n')}`,
    'fix each line above (docs/segments.md lists every condition), then run `segflow segments check`',
  );
}

/**
 * For a command about one segment: only that segment's problems (or those of a segment it refers to) stop it; the
 * other files' problems are one line on stderr, so one broken file does not block work on every other segment.
 */
function requireUsable(loaded: LoadResult, name: string, dir: string): void {
  const usable = loaded.definitions.map((d) => d.definition.name);
  if (!usable.includes(name)) {
    const file = loaded.unusable?.find((u) => u.name === name)?.file;
    if (file) failOnProblems({ ...loaded, problems: loaded.problems.filter((p) => p.file === file) });
    throw new SegflowError(
      'NOT_FOUND',
      `no segment '${name}' in ${dir}${didYouMeanSuffix(name, usable)}`,
      `use one of ${usable.join(', ') || '(none)'}${loaded.problems.length ? `, or fix the files \`segflow segments check\` lists` : ''}`,
    );
  }
  if (loaded.problems.length > 0) {
    const files = [...new Set(loaded.problems.map((p) => p.file))];
    log(
      `warning: ${files.length} other segment file${files.length === 1 ? ' has' : 's have'} problems (${files.join(', ')}); \`segflow segments check\` lists them`,
    );
  }
}

/** A bound value as it would be written in SQL, for reading the preview's statement. */
function sqlLiteral(v: unknown): string {
  if (v instanceof Date) return `TIMESTAMP '${v.toISOString()}'`;
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  return v === null || v === undefined ? 'NULL' : String(v);
}

/** The named definition and every one it refers to, directly or through others. */
function withReferenced(all: readonly SegmentDefinition[], name: string): SegmentDefinition[] {
  const byName = new Map(all.map((d) => [d.name, d]));
  const out = new Map<string, SegmentDefinition>();
  const add = (n: string) => {
    const d = byName.get(n);
    if (!d || out.has(n)) return;
    out.set(n, d);
    for (const r of definitionReferences(d.where).segments) add(r.name);
  };
  add(name);
  return [...out.values()];
}

/** `segflow segments check|preview|members|history` and `segflow refresh`. */
export function registerSegments(program: Command): void {
  const segments = program
    .command('segments')
    .description('segments as code: check, preview, members, history');

  segments
    .command('check')
    .description('validate every segment file: errors name the file, line, path and fix')
    .option('--dir <folder>', 'segment files (default: segments: in segflow.config.yaml, else ./segments)')
    .option('--json', 'print as one JSON document')
    .action(async (flags: DirFlags & { json?: boolean }) => {
      const dir = segmentsDir(flags);
      // Unknown features, missing segments and cycles are found at load, each at its file's line.
      const loaded = loadDefinitions(dir);
      failOnProblems(loaded);
      emit(
        Boolean(flags.json),
        {
          ok: true,
          dir,
          segments: loaded.definitions.map((d) => ({
            name: d.definition.name,
            file: d.file,
            active: d.definition.active,
          })),
        },
        () =>
          `${loaded.definitions.length} segment${loaded.definitions.length === 1 ? '' : 's'} in ${dir}: all valid`,
      );
    });

  segments
    .command('preview')
    .description(
      'size, a sample of members and the SQL of one segment, as of now or --as-of (writes nothing)',
    )
    .argument('<name>')
    .option('--as-of <time>', 'evaluate as of this time (ISO-8601)')
    .option('--dir <folder>', 'segment files')
    .option('--json', 'print as one JSON document')
    .action(async (name: string, flags: DirFlags & { asOf?: string; json?: boolean }, cmd: Command) => {
      const loaded = loadDefinitions(segmentsDir(flags));
      requireUsable(loaded, name, segmentsDir(flags));
      const asOf = parseAsOf(flags.asOf);
      const p = await withWarehouse(
        cmd.optsWithGlobals(),
        async (wh) => ({
          ...(await previewSegment(
            wh,
            // Only this segment and those it refers to, so the SQL shown is this segment's.
            withReferenced(
              loaded.definitions.map((d) => d.definition),
              name,
            ),
            name,
            { asOf, features: featureSource(wh.dialect) },
          )),
          warnings: await asOfWarnings(wh, asOf),
        }),
        { readOnly: true },
      );
      emit(Boolean(flags.json), p, () =>
        [
          `${p.name} as of ${p.asOf.toISOString()}: ${p.size.toLocaleString('en-US')} of ${p.population.toLocaleString('en-US')} people (${((100 * p.size) / Math.max(1, p.population)).toFixed(1)}%)`,
          `sample: ${p.sample.join(', ') || '-'}`,
          '',
          p.sql,
          // The values the SQL's $n placeholders are bound to, so the statement can be read (and run) as shown.
          ...p.params.map((v, i) => `-- $${i + 1} = ${sqlLiteral(v)}`),
        ].join('\n'),
      );
    });

  segments
    .command('members')
    .description('current members of a segment (as of its last refresh)')
    .argument('<name>')
    .option('--limit <n>', 'how many', '100')
    .option('--json', 'print as one JSON document')
    .action(async (name: string, flags: { limit: string; json?: boolean }, cmd: Command) => {
      const r = await withWarehouse(
        cmd.optsWithGlobals(),
        (wh) => segmentMembers(wh, name, { limit: Math.max(1, Number(flags.limit) || 100) }),
        {
          readOnly: true,
        },
      );
      emit(
        Boolean(flags.json),
        r,
        () => `${r.size.toLocaleString('en-US')} members\n${table(r.members.map((m) => ({ ...m })))}`,
      );
    });

  segments
    .command('report')
    .description(
      'sizes and their trend, overlap between segments (Jaccard), and warnings: empty, tiny, near-duplicate',
    )
    .option('--tiny <share>', 'warn below this share of everyone', '0.001')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { tiny: string; json?: boolean }, cmd: Command) => {
      const r = await withWarehouse(
        cmd.optsWithGlobals(),
        (wh) => segmentReport(wh, { tinyShare: Number(flags.tiny) }),
        {
          readOnly: true,
        },
      );
      emit(Boolean(flags.json), r, () =>
        [
          `${r.segments.length} active segments over ${r.population.toLocaleString('en-US')} people`,
          table(
            r.segments.map((s) => ({
              segment: s.name,
              size: s.size,
              share: `${(100 * s.share).toFixed(1)}%`,
              trend: s.trend.map((t) => t.size).join(' → '),
            })),
          ),
          '',
          'largest overlaps (Jaccard)',
          table(
            [...r.overlap]
              .sort((a, b) => b.jaccard - a.jaccard)
              .slice(0, 10)
              .map((o) => ({ a: o.a, b: o.b, both: o.both, jaccard: o.jaccard.toFixed(3) })),
          ),
          '',
          r.warnings.length
            ? r.warnings.map((w) => `warning (${w.kind}): ${w.message}`).join('\n')
            : 'no warnings',
        ].join('\n'),
      );
    });

  segments
    .command('history')
    .description("a person's segment memberships over time, by any identifier")
    .argument('<id>')
    .option('--json', 'print as one JSON document')
    .action(async (id: string, flags: { json?: boolean }, cmd: Command) => {
      const rows = await withWarehouse(cmd.optsWithGlobals(), (wh) => membershipHistory(wh, id), {
        readOnly: true,
      });
      emit(Boolean(flags.json), rows, () =>
        rows.length ? table(rows.map((x) => ({ ...x }))) : 'no memberships',
      );
    });

  program
    .command('refresh')
    .description(
      "compute every person's features as of now (or --as-of), then evaluate every active segment and record who entered and left",
    )
    .option('--as-of <time>', 'as of this time (ISO-8601); history only moves forward')
    .option('--dir <folder>', 'segment files')
    .option(
      '--full',
      'evaluate every person from their events (default: only those whose features or memberships can have changed since the last refresh)',
    )
    .option('--json', 'print as one JSON document')
    .action(async (flags: DirFlags & { asOf?: string; json?: boolean; full?: boolean }, cmd: Command) => {
      const dir = segmentsDir(flags);
      // Without a segments folder, refresh computes features only.
      const loaded: LoadResult = existsSync(fromWorkingDir(dir))
        ? loadDefinitions(dir)
        : { definitions: [], problems: [] };
      failOnProblems(loaded);
      if (!flags.json) log(`refreshing features and ${loaded.definitions.length} segments…`);
      const asOf = parseAsOf(flags.asOf) ?? new Date();
      const cfg = modelConfig(loadConfig().model);
      const { summary, warnings } = await withWarehouse(cmd.optsWithGlobals(), async (wh) => ({
        summary: await runRefreshPipeline(wh, {
          asOf,
          full: Boolean(flags.full),
          model: cfg,
          segments: loaded.definitions,
          actor: { actor: cliActor(), source: 'cli' },
          onProgress: flags.json ? undefined : pipelineProgress(wh),
        }),
        warnings: await asOfWarnings(wh, asOf),
      }));
      const { features, segmentRefresh: r } = summary;
      emit(Boolean(flags.json), { ...summary, warnings }, () =>
        [
          `refresh${r ? ` ${r.refreshId}` : ''} as of ${asOf.toISOString()}: features ${features.seconds.toFixed(1)} s${r ? `, segments ${r.seconds.toFixed(1)} s` : ''}`,
          r ? table(r.segments) : 'no segments',
        ].join('\n'),
      );
    });
}
