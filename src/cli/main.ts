import { Command, CommanderError } from 'commander';
import { registerActivate } from './commands/activate.js';
import { registerGenerate } from './commands/generate.js';
import { registerGovern } from './commands/govern.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
import { registerKeys } from './commands/keys.js';
import { registerMeasure } from './commands/measure.js';
import { registerModel } from './commands/model.js';
import { registerModels } from './commands/models.js';
import { registerQueries } from './commands/query.js';
import { registerSegments } from './commands/segments.js';
import { registerServe } from './commands/serve.js';
import { registerStatistics } from './commands/stats.js';
import { reportError } from './output.js';

/** The `segflow` command: a thin layer over the library. Each command lives in commands/ and registers itself. */
export function buildProgram(): Command {
  const program = new Command('segflow')
    .description(
      'behavioral segmentation for growth teams: Segment-spec events in, segments and measured plays out',
    )
    .option(
      '--db <path>',
      'database file (default: db in segflow.config.yaml, $SEGFLOW_DB, else ./segflow.duckdb)',
    )
    .showHelpAfterError()
    .exitOverride();
  registerInit(program);
  registerImport(program);
  registerQueries(program);
  registerStatistics(program);
  registerMeasure(program);
  registerGenerate(program);
  registerServe(program);
  registerKeys(program);
  registerModel(program);
  registerSegments(program);
  registerActivate(program);
  registerGovern(program);
  registerModels(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    reportError(e, argv.includes('--json'));
    return 1;
  }
}
