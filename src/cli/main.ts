import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isSegflowError } from '../errors.js';
import { registerActivate } from './commands/activate.js';
import { registerBackup } from './commands/backup.js';
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
import { reportError, toJsonText, writeStderr, writeStdout } from './output.js';
import { forwardWhenServed, runOnServer } from './run-on-server.js';
import { DatabaseServed } from './served-database.js';

/** The same from src/ (tsx) and from dist/: package.json is two folders up. */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Errors in what the user typed (bad option values, unknown presets) exit 2, as commander's own usage errors do. */
const USAGE_CODES = new Set(['USAGE', 'IMPORT_PRESET_UNKNOWN']);

/** The `segflow` command: a thin layer over the library. Each command lives in commands/ and registers itself. */
export function buildProgram(): Command {
  const program = new Command('segflow')
    .description(
      'behavioral segmentation for growth teams: Segment-spec events in, segments and measured plays out',
    )
    .option(
      '--db <path>',
      'database file (default: $SEGFLOW_DB, else db in segflow.config.yaml, else ./segflow.duckdb)',
    )
    .version(VERSION, '-V, --version', 'print the segflow version')
    .showHelpAfterError()
    // Through output.ts, so that a command `segflow serve` runs for another process prints to that process.
    .configureOutput({ writeOut: writeStdout, writeErr: writeStderr })
    .exitOverride()
    // While `segflow serve` holds the database, commands run through it (docs/cli-and-server.md).
    .hook('preAction', forwardWhenServed);
  registerInit(program);
  registerImport(program);
  registerQueries(program);
  registerStatistics(program);
  registerMeasure(program);
  registerGenerate(program);
  registerServe(program, { runCli: main });
  registerKeys(program);
  registerModel(program);
  registerSegments(program);
  registerActivate(program);
  registerGovern(program);
  registerModels(program);
  registerBackup(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    // The database is held by `segflow serve`: the same command runs there (docs/cli-and-server.md).
    if (e instanceof DatabaseServed) return runOnServer(e.served, argv).catch((err) => failed(err, argv));
    const json = argv.includes('--json');
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      // commander has printed the message and the help on stderr; --json still promises one document on stdout.
      if (json) {
        const message = e.message.replace(/^error: /, '');
        const hint = "see `segflow help` and the command's --help for its options";
        writeStdout(`${toJsonText({ error: { code: 'USAGE', message, hint } })}\n`);
      }
      return 2;
    }
    return failed(e, argv);
  }
}

function failed(e: unknown, argv: string[]): number {
  reportError(e, argv.includes('--json'));
  return isSegflowError(e) && USAGE_CODES.has(e.code) ? 2 : 1;
}
