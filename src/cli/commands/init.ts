import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_FILE } from '../../config/config.js';
import { packagePath } from '../../config/package-files.js';
import { emit } from '../output.js';

const EXAMPLES = `${packagePath('examples')}/`;
/** The four plays of the classic decision matrix and the segments they target. */
const STARTER_SEGMENTS = ['champion.yaml', 'high-intent.yaml', 'at-risk-adoption.yaml', 'recoverable.yaml'];

const CONFIG = `# segflow configuration. Every section is optional; the defaults follow Segment's e-commerce and B2B SaaS specs.
db: ./segflow.duckdb
segments: ./segments
playbook: ./playbook.yaml

# Which events mean what to the behavioral models (docs/features.md).
# model:
#   purchase: { events: [Order Completed] }
#   engagement: { halfLife: 14d }

# KPIs that plays are measured on (docs/measure.md); built-in ones need no entry.
# measure:
#   kpis:
#     trial_conversion: { kind: conversion, event: Subscription Started, within: 21d }

# How long events are kept (docs/govern.md); applied by \`segflow govern purge\` and hourly by \`segflow serve\`.
# retention:
#   Page Viewed: 13mo
#   Order Completed: 7y
#   default: 2y
`;

/** `segflow init`: a config file, the four decision-matrix segments and the classic playbook, to edit. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'start a project here: segflow.config.yaml, segments/ (the decision matrix) and playbook.yaml',
    )
    .option('--dir <dir>', 'where', '.')
    .option('--json', 'print as one JSON document')
    .action((flags: { dir: string; json?: boolean }) => {
      const written: string[] = [];
      const kept: string[] = [];
      const put = (path: string, write: () => void) => {
        if (existsSync(path)) kept.push(path);
        else {
          write();
          written.push(path);
        }
      };
      mkdirSync(flags.dir, { recursive: true });
      put(join(flags.dir, CONFIG_FILE), () => writeFileSync(join(flags.dir, CONFIG_FILE), CONFIG));
      mkdirSync(join(flags.dir, 'segments'), { recursive: true });
      for (const f of STARTER_SEGMENTS) {
        put(join(flags.dir, 'segments', f), () =>
          copyFileSync(join(EXAMPLES, 'segments', f), join(flags.dir, 'segments', f)),
        );
      }
      // The example playbook's comments point at the examples' folder; the copy points at the project's own.
      put(join(flags.dir, 'playbook.yaml'), () =>
        writeFileSync(
          join(flags.dir, 'playbook.yaml'),
          readFileSync(join(EXAMPLES, 'playbooks', 'classic.yaml'), 'utf8').replaceAll(
            'examples/segments',
            './segments',
          ),
        ),
      );
      emit(Boolean(flags.json), { written, kept }, () =>
        [
          ...written.map((p) => `wrote ${p}`),
          ...kept.map((p) => `kept  ${p} (already there)`),
          '',
          'next: segflow import events.ndjson   (or segflow serve, and point your SDKs at it)',
          '      segflow refresh                 (features and segment memberships)',
          '      segflow playbook check && segflow activate run',
        ].join('\n'),
      );
    });
}
