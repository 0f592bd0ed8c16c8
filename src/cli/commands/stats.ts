import type { Command } from 'commander';
import { SegflowError } from '../../errors.js';
import type {
  ArmStats,
  MeanAggregate,
  ProportionAggregate,
  RatioAggregate,
} from '../../measure/arm-stats.js';
import { CORRECTION_METHODS, type CorrectionMethod, correctPValues } from '../../measure/corrections.js';
import { type CovariateAggregate, type CupedLiftResult, cupedLift } from '../../measure/cuped.js';
import type { Estimate } from '../../measure/inference.js';
import { type LiftResult, meanLift, proportionLift, ratioLift } from '../../measure/lift.js';
import {
  achievedPower,
  DEFAULT_POWER,
  type Effect,
  minimumDetectableEffect,
  type PowerMetric,
  requiredPeople,
} from '../../measure/power.js';
import { SRM_THRESHOLD, type SrmResult, sampleRatioMismatch } from '../../measure/srm.js';
import { emit, table } from '../output.js';

/**
 * `segflow stats lift | srm | power | adjust`: the Measure statistics as a calculator over numbers you already have
 * (e.g. from `segflow sql` or any warehouse). No database is opened.
 */

const ARM_FORMATS =
  'N,SUM,SUMSQ for a per-person mean (e.g. 3407,1396.87,52377.9767), CONVERSIONS/N for a conversion rate ' +
  '(e.g. 14/28), or N,NUM_SUM,NUM_SUMSQ,DEN_SUM,DEN_SUMSQ,NUM_DEN_SUMPROD for a ratio metric';

function usage(message: string, hint: string): SegflowError {
  return new SegflowError('USAGE', message, hint);
}

function parseNumber(text: string, flag: string, hint: string): number {
  const trimmed = text.trim();
  const n = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(n)) throw usage(`${flag}: '${text}' is not a number`, hint);
  return n;
}

function parseList(text: string, flag: string, hint: string): number[] {
  return text.split(',').map((part) => parseNumber(part, flag, hint));
}

type ArmInput =
  | { kind: 'mean'; value: MeanAggregate }
  | { kind: 'proportion'; value: ProportionAggregate }
  | { kind: 'ratio'; value: RatioAggregate };

/** One arm from the command line; the form (mean, proportion or ratio) is read from its shape. */
export function parseArm(text: string, flag: string): ArmInput {
  if (text.includes('/')) {
    const [c, n, ...rest] = text.split('/');
    if (rest.length > 0 || c === undefined || n === undefined)
      throw usage(
        `${flag}: '${text}' is not CONVERSIONS/N`,
        `e.g. ${flag} 14/28 (14 of 28 people converted)`,
      );
    const hint = `e.g. ${flag} 14/28`;
    return {
      kind: 'proportion',
      value: { conversions: parseNumber(c, flag, hint), n: parseNumber(n, flag, hint) },
    };
  }
  const xs = parseList(text, flag, ARM_FORMATS);
  if (xs.length === 3) return { kind: 'mean', value: { n: xs[0]!, sum: xs[1]!, sumSquares: xs[2]! } };
  if (xs.length === 6)
    return {
      kind: 'ratio',
      value: {
        n: xs[0]!,
        numerator: { sum: xs[1]!, sumSquares: xs[2]! },
        denominator: { sum: xs[3]!, sumSquares: xs[4]! },
        sumProducts: xs[5]!,
      },
    };
  throw usage(`${flag}: '${text}' has ${xs.length} numbers`, `pass ${ARM_FORMATS}`);
}

function parsePre(
  text: string,
  flag: string,
): { pre: { sum: number; sumSquares: number }; sumProducts: number } {
  const hint = `${flag} PRE_SUM,PRE_SUMSQ,SUM_OF_KPI_TIMES_PRE (Σx, Σx², Σxy over the arm's people)`;
  const xs = parseList(text, flag, hint);
  if (xs.length !== 3) throw usage(`${flag}: '${text}' has ${xs.length} numbers, not 3`, hint);
  return { pre: { sum: xs[0]!, sumSquares: xs[1]! }, sumProducts: xs[2]! };
}

interface LiftFlags {
  control: string;
  treatment: string;
  controlPre?: string;
  treatmentPre?: string;
  alpha: string;
}

function computeLift(flags: LiftFlags): LiftResult | CupedLiftResult {
  const alpha = parseNumber(flags.alpha, '--alpha', 'e.g. --alpha 0.05 for 95 % intervals');
  const control = parseArm(flags.control, '--control');
  const treatment = parseArm(flags.treatment, '--treatment');
  if (flags.controlPre !== undefined || flags.treatmentPre !== undefined) {
    if (flags.controlPre === undefined || flags.treatmentPre === undefined)
      throw usage(
        'CUPED needs the pre-period covariate of both arms',
        'pass --control-pre and --treatment-pre',
      );
    if (control.kind !== 'mean' || treatment.kind !== 'mean')
      throw usage('CUPED applies to per-person means', 'give both arms as N,SUM,SUMSQ');
    const arm = (a: MeanAggregate, pre: string, flag: string): CovariateAggregate => ({
      n: a.n,
      post: { sum: a.sum, sumSquares: a.sumSquares },
      ...parsePre(pre, flag),
    });
    return cupedLift({
      control: arm(control.value, flags.controlPre, '--control-pre'),
      treatment: arm(treatment.value, flags.treatmentPre, '--treatment-pre'),
      alpha,
    });
  }
  if (control.kind === 'mean' && treatment.kind === 'mean')
    return meanLift({ control: control.value, treatment: treatment.value, alpha });
  if (control.kind === 'proportion' && treatment.kind === 'proportion')
    return proportionLift({ control: control.value, treatment: treatment.value, alpha });
  if (control.kind === 'ratio' && treatment.kind === 'ratio')
    return ratioLift({ control: control.value, treatment: treatment.value, alpha });
  throw usage(
    `--control is a ${control.kind} and --treatment a ${treatment.kind}`,
    'give both arms in the same form',
  );
}

const signed = (x: number, digits: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(digits);
const percent = (x: number) => `${signed(x * 100, 2)} %`;
const pValueText = (p: number) => (p < 0.0001 ? p.toExponential(2) : p.toFixed(4));

function estimateLine(label: string, e: Estimate, level: number, format: (x: number) => string): string {
  return [
    label.padEnd(15),
    format(e.estimate).padStart(12),
    `   ${Math.round(level * 100)} % CI [${format(e.ci.lower)}, ${format(e.ci.upper)}]`,
    `   p = ${pValueText(e.pValue)}`,
    e.significant ? '   significant' : '   not significant',
  ].join('');
}

function armRow(name: string, a: ArmStats): Record<string, string> {
  return {
    arm: name,
    n: a.n.toLocaleString('en-US'),
    mean: a.mean.toPrecision(6),
    'std. dev.': Math.sqrt(a.variance).toPrecision(6),
    'std. error': a.standardError.toPrecision(4),
  };
}

export function liftText(r: LiftResult | CupedLiftResult): string {
  const digits = 4;
  const lines = [
    table([armRow('control', r.control), armRow('treatment', r.treatment)]),
    '',
    estimateLine('absolute lift', r.absolute, r.confidenceLevel, (x) => signed(x, digits)),
    r.relative
      ? estimateLine('relative lift', r.relative, r.confidenceLevel, percent)
      : 'relative lift  not defined (control mean is not positive)',
    `Welch degrees of freedom ${r.degreesOfFreedom.toFixed(1)}`,
  ];
  if (r.kind === 'cuped') {
    const c = r as CupedLiftResult;
    lines.push(
      `CUPED: θ = ${c.theta.toPrecision(4)}, correlation with the pre-period ${c.correlation.toFixed(3)}, ` +
        `variance removed ${(c.varianceReduction * 100).toFixed(1)} %`,
      estimateLine('  unadjusted', c.unadjusted.absolute, r.confidenceLevel, (x) => signed(x, digits)),
    );
  }
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

function srmText(r: SrmResult): string {
  const rows = r.counts.map((c, i) => ({
    arm: String(i + 1),
    people: c.toLocaleString('en-US'),
    expected: r.expectedCounts[i]!.toFixed(1),
    'observed share': `${(r.observedShares[i]! * 100).toFixed(2)} %`,
    'planned share': `${(r.expectedShares[i]! * 100).toFixed(2)} %`,
  }));
  return [
    table(rows),
    '',
    `chi-square ${r.chiSquare.toFixed(3)} on ${r.degreesOfFreedom} df, p = ${pValueText(r.pValue)} ` +
      `(flagged below ${r.threshold}, i.e. chi-square above ${r.criticalValue.toFixed(2)})`,
    r.flagged
      ? 'SAMPLE RATIO MISMATCH: the split is not what was planned. Fix assignment or exposure logging before reading any lift.'
      : 'no sample ratio mismatch',
  ].join('\n');
}

interface PowerFlags {
  baselineRate?: string;
  baselineMean?: string;
  stddev?: string;
  holdout: string;
  people?: string;
  relativeLift?: string;
  absoluteLift?: string;
  alpha: string;
  power: string;
}

function powerMetric(flags: PowerFlags): PowerMetric {
  if (flags.baselineRate !== undefined) {
    if (flags.baselineMean !== undefined || flags.stddev !== undefined)
      throw usage(
        'give either --baseline-rate or --baseline-mean with --stddev, not both',
        '--baseline-rate 0.04',
      );
    return {
      kind: 'proportion',
      baselineRate: parseNumber(flags.baselineRate, '--baseline-rate', 'a fraction: 0.04 for 4 %'),
    };
  }
  if (flags.baselineMean !== undefined && flags.stddev !== undefined)
    return {
      kind: 'mean',
      baselineMean: parseNumber(flags.baselineMean, '--baseline-mean', 'e.g. --baseline-mean 42.5'),
      standardDeviation: parseNumber(flags.stddev, '--stddev', 'e.g. --stddev 80'),
    };
  throw usage(
    'say what the KPI is',
    'a conversion KPI: --baseline-rate 0.04; a per-person mean: --baseline-mean 42.5 --stddev 80',
  );
}

function computePower(flags: PowerFlags) {
  const metric = powerMetric(flags);
  const holdoutShare = parseNumber(flags.holdout, '--holdout', 'e.g. --holdout 0.1 for a 10 % holdout');
  const alpha = parseNumber(flags.alpha, '--alpha', 'e.g. --alpha 0.05');
  const power = parseNumber(flags.power, '--power', 'e.g. --power 0.8');
  if (flags.relativeLift !== undefined && flags.absoluteLift !== undefined)
    throw usage('give either --relative-lift or --absolute-lift', '--relative-lift 0.1 means +10 %');
  const effect: Effect | undefined =
    flags.relativeLift !== undefined
      ? { relative: parseNumber(flags.relativeLift, '--relative-lift', '0.1 means +10 %') }
      : flags.absoluteLift !== undefined
        ? { absolute: parseNumber(flags.absoluteLift, '--absolute-lift', 'in the KPI unit, e.g. 0.005') }
        : undefined;
  const people =
    flags.people !== undefined ? parseNumber(flags.people, '--people', 'e.g. --people 50000') : undefined;
  const design = { metric, holdoutShare, alpha };
  if (people !== undefined && effect !== undefined)
    return {
      mode: 'power' as const,
      power: achievedPower({ ...design, people, effect }),
      minimumDetectableEffect: minimumDetectableEffect({ ...design, people, power }),
    };
  if (people !== undefined)
    return { mode: 'mde' as const, ...minimumDetectableEffect({ ...design, people, power }) };
  if (effect !== undefined)
    return { mode: 'sample-size' as const, ...requiredPeople({ ...design, effect, power }) };
  throw usage(
    'give --people (to get the minimum detectable effect), a lift (to get the people needed), or both (to get the power)',
    'e.g. --people 50000, or --relative-lift 0.1',
  );
}

function powerText(r: ReturnType<typeof computePower>): string {
  const rel = (x: number | null) => (x === null ? '' : ` (${percent(x)})`);
  switch (r.mode) {
    case 'mde':
      return [
        `${r.people.toLocaleString('en-US')} people (${Math.round(r.holdoutPeople).toLocaleString('en-US')} held out) ` +
          `detect an increase of ${signed(r.absolute, 6)}${rel(r.relative)} over ${r.baseline}`,
        `with ${r.power * 100} % power at alpha ${r.alpha} (two-sided); smaller true effects will usually be missed`,
      ].join('\n');
    case 'sample-size':
      return [
        `${r.people.toLocaleString('en-US')} people are needed: ${r.holdoutPeople.toLocaleString('en-US')} held out ` +
          `and ${r.treatmentPeople.toLocaleString('en-US')} treated`,
        `to detect ${signed(r.absoluteEffect, 6)}${rel(r.relativeEffect)} over ${r.baseline} with ${r.power * 100} % ` +
          `power at alpha ${r.alpha} (two-sided)`,
      ].join('\n');
    case 'power':
      return [
        `power ${(r.power * 100).toFixed(1)} %: the chance this design calls the given lift significant`,
        `(its minimum detectable effect at ${r.minimumDetectableEffect.power * 100} % power is ` +
          `${signed(r.minimumDetectableEffect.absolute, 6)}${rel(r.minimumDetectableEffect.relative)})`,
      ].join('\n');
    default: {
      const never: never = r;
      return String(never);
    }
  }
}

function json(cmd: Command): boolean {
  // `--json` may be taken by the parent `stats` command (its own summary flag) when it comes before the others.
  return Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
}

export function registerStatistics(program: Command): void {
  // `segflow stats` alone summarises the database (commands/query.ts); the calculators are its subcommands.
  const stats =
    program.commands.find((c) => c.name() === 'stats') ??
    program.command('stats').description('statistics calculators');
  stats.description(
    `${stats.description()}; its subcommands lift, srm, power and adjust are statistics calculators that need no database`,
  );

  stats
    .command('lift')
    .description(
      'lift of a treatment over its control: absolute and relative, Welch confidence intervals and p-values (no database needed)',
    )
    .requiredOption('--control <arm>', `control arm: ${ARM_FORMATS}`)
    .requiredOption('--treatment <arm>', 'treatment arm, in the same form as --control')
    .option(
      '--control-pre <pre>',
      'CUPED: control pre-period covariate as PRE_SUM,PRE_SUMSQ,SUM_KPI_TIMES_PRE',
    )
    .option('--treatment-pre <pre>', 'CUPED: treatment pre-period covariate, as --control-pre')
    .option('--alpha <a>', 'significance level; 0.05 gives 95 % intervals', '0.05')
    .option('--json', 'print as one JSON document')
    .action((flags: LiftFlags, cmd: Command) => {
      const r = computeLift(flags);
      emit(json(cmd), r, () => liftText(r));
    });

  stats
    .command('srm')
    .description('sample-ratio mismatch: chi-square test of arm counts against the planned split')
    .requiredOption('--counts <a,b,…>', 'people per arm, e.g. 1000,1100')
    .option('--weights <w,…>', 'planned split, any scale (0.1,0.9 or 10,90); equal when omitted')
    .option('--threshold <p>', 'flag below this p-value', String(SRM_THRESHOLD))
    .option('--json', 'print as one JSON document')
    .action((flags: { counts: string; weights?: string; threshold: string }, cmd: Command) => {
      const r = sampleRatioMismatch({
        counts: parseList(flags.counts, '--counts', 'e.g. --counts 1000,1100'),
        weights:
          flags.weights === undefined
            ? undefined
            : parseList(flags.weights, '--weights', 'e.g. --weights 10,90'),
        threshold: parseNumber(flags.threshold, '--threshold', 'e.g. --threshold 0.001'),
      });
      emit(json(cmd), r, () => srmText(r));
    });

  stats
    .command('power')
    .description(
      'size a holdout: minimum detectable effect for --people, people needed for a lift, or the power of both',
    )
    .option('--baseline-rate <p>', 'conversion KPI: the control conversion rate, e.g. 0.04')
    .option('--baseline-mean <m>', 'mean KPI: the control mean per person')
    .option('--stddev <s>', 'mean KPI: the per-person standard deviation')
    .requiredOption('--holdout <share>', 'share held out, e.g. 0.1')
    .option('--people <n>', 'eligible people (holdout + treated)')
    .option('--relative-lift <r>', 'effect to detect, relative: 0.1 = +10 %')
    .option('--absolute-lift <d>', 'effect to detect, in the KPI unit')
    .option('--alpha <a>', 'significance level (two-sided)', '0.05')
    .option('--power <p>', 'probability of detecting the effect', String(DEFAULT_POWER))
    .option('--json', 'print as one JSON document')
    .action((flags: PowerFlags, cmd: Command) => {
      const r = computePower(flags);
      emit(json(cmd), r, () => powerText(r));
    });

  stats
    .command('adjust')
    .description('correct p-values for reading several KPIs or segments: Holm or Benjamini-Hochberg')
    .requiredOption('--p-values <p,…>', 'raw p-values, e.g. 0.01,0.04,0.03')
    .option('--method <m>', `${CORRECTION_METHODS.join(' | ')}`, 'holm')
    .option('--alpha <a>', 'significance level', '0.05')
    .option('--json', 'print as one JSON document')
    .action((flags: { pValues: string; method: string; alpha: string }, cmd: Command) => {
      if (!(CORRECTION_METHODS as readonly string[]).includes(flags.method))
        throw usage(
          `unknown method '${flags.method}'`,
          `use --method ${CORRECTION_METHODS.join(' or --method ')}`,
        );
      const r = correctPValues({
        pValues: parseList(flags.pValues, '--p-values', 'e.g. --p-values 0.01,0.04,0.03'),
        method: flags.method as CorrectionMethod,
        alpha: parseNumber(flags.alpha, '--alpha', 'e.g. --alpha 0.05'),
      });
      emit(json(cmd), r, () =>
        table(
          r.pValues.map((p, i) => ({
            test: String(i + 1),
            'p-value': pValueText(p),
            adjusted: pValueText(r.adjusted[i]!),
            [`significant at ${r.alpha}`]: r.significant[i] ? 'yes' : 'no',
          })),
        ),
      );
    });
}
