import { SegflowError } from '../errors.js';
import { didYouMeanSuffix } from '../shared/did-you-mean.js';
import {
  formatPlaybookProblem,
  type Playbook,
  type PlaybookProblem,
  readPlaybook,
  readPlaybookFile,
} from './playbook.js';

/**
 * `playbook check`: the playbook file on its own (syntax, schema, cron expressions) and against what it names —
 * segments that exist and KPIs that are defined. A play whose segment does not exist would silently never fire, and
 * an undefined KPI would fail only at `measure report`, so both are refused here with the fix.
 */

/** What a playbook may refer to, as the caller knows it (the segment files, the configured and built-in KPIs). */
export interface PlaybookReferences {
  /** Names of the valid segment definitions. */
  segments: readonly string[];
  /** Where they were read from, for the fix ("add segments/x.yaml"). */
  segmentsDir: string;
  /** Segment files with problems: a play's segment may be one of them. */
  brokenSegmentFiles?: readonly string[];
  /** KPI names: measure.kpis in segflow.config.yaml and the built-in ones. */
  kpis: readonly string[];
}

export interface PlaybookCheck {
  file: string;
  ok: boolean;
  playbook?: Playbook;
  problems: PlaybookProblem[];
}

/**
 * Check playbook text against what it refers to; never throws for a problem in the input, it lists them all.
 *
 * @example
 * const r = checkPlaybookText(text, 'playbook.yaml', { segments: ['champion'], segmentsDir: 'segments', kpis: ['repeat_rate'] });
 * if (!r.ok) console.log(r.problems.map(formatPlaybookProblem).join('\n'));
 */
export function checkPlaybookText(text: string, file: string, refs: PlaybookReferences): PlaybookCheck {
  const { playbook, problems, raw, lineOf } = readPlaybook(text, file);
  if (raw === undefined) return { file, ok: false, problems };
  // Read from the document as written, so a schema problem elsewhere does not hide these.
  const found: PlaybookProblem[] = [...problems];
  const at = (path: (string | number)[], message: string) =>
    found.push({ file, line: lineOf(path), path: path.join('.'), message });
  const broken = refs.brokenSegmentFiles ?? [];
  const plays = (raw as { plays?: unknown } | null)?.plays;
  (Array.isArray(plays) ? plays : []).forEach((play: { segment?: unknown; kpi?: unknown }, i) => {
    if (typeof play?.segment === 'string' && play.segment && !refs.segments.includes(play.segment)) {
      at(
        ['plays', i, 'segment'],
        `no segment '${play.segment}', so the play would never fire; use one of ${refs.segments.join(', ') || '(none)'} ` +
          `or add ${refs.segmentsDir}/${play.segment}.yaml` +
          (broken.length
            ? ` (segment files with problems: ${broken.join(', ')}; run \`segflow segments check\`)`
            : '') +
          didYouMeanSuffix(play.segment, refs.segments),
      );
    }
    if (typeof play?.kpi === 'string' && !refs.kpis.includes(play.kpi)) {
      at(
        ['plays', i, 'kpi'],
        `no KPI '${play.kpi}'; use one of ${refs.kpis.join(', ')}, or define it under measure.kpis in segflow.config.yaml (docs/measure.md)${didYouMeanSuffix(play.kpi, refs.kpis)}`,
      );
    }
  });
  found.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return found.length === 0 && playbook
    ? { file, ok: true, playbook, problems: [] }
    : { file, ok: false, ...(playbook ? { playbook } : {}), problems: found };
}

/**
 * Check a playbook file (see checkPlaybookText); CONFIG_INVALID only when there is no file at all.
 *
 * @example
 * const r = checkPlaybookFile('playbook.yaml', refs); // { ok: false, problems: [{ line: 12, path: 'plays.0.segment', … }] }
 */
export function checkPlaybookFile(file: string, refs: PlaybookReferences): PlaybookCheck {
  return checkPlaybookText(readPlaybookFile(file), file, refs);
}

/** The problems of a failed check as one CONFIG_INVALID error (the CLI's exit 1 with every line). */
export function playbookCheckError(check: PlaybookCheck): SegflowError {
  return new SegflowError(
    'CONFIG_INVALID',
    `${check.problems.length} problem${check.problems.length === 1 ? '' : 's'} in ${check.file}:\n${check.problems.map(formatPlaybookProblem).join('\n')}`,
    'fix each line above, then run `segflow playbook check` again (docs/activation.md describes the format)',
  );
}
