import { Command, CommanderError } from 'commander';
import { packageVersion } from '../config/package-files.js';
import { isSegflowError } from '../errors.js';
import { DatabaseServed, runsHere } from './database-served.js';
import { reportError, toJsonText, writeStderr, writeStdout } from './output.js';

const VERSION = packageVersion();

/** Errors in what the user typed (bad option values, unknown presets) exit 2, as commander's own usage errors do. */
const USAGE_CODES = new Set(['USAGE', 'IMPORT_PRESET_UNKNOWN']);

/** The `segflow` command: a thin layer over the library. Each command lives in commands/ and registers itself. */
/**
 * Each command module and the top-level commands it registers. A command's module is loaded only when that command
 * runs (or for help): loading all of them — fastify, nodemailer, the model code — cost about a second of start-up
 * on every `segflow` call. The table is checked against what each module really registers
 * (test/cli/command-modules.test.ts).
 */
export const COMMAND_MODULES: readonly CommandModule[] = [
  { commands: ['init'], load: async () => (await import('./commands/init.js')).registerInit },
  { commands: ['import'], load: async () => (await import('./commands/import.js')).registerImport },
  {
    commands: ['sql', 'stats', 'persons', 'rejects'],
    load: async () => (await import('./commands/query.js')).registerQueries,
  },
  { commands: ['stats'], load: async () => (await import('./commands/stats.js')).registerStatistics },
  { commands: ['measure'], load: async () => (await import('./commands/measure.js')).registerMeasure },
  { commands: ['generate'], load: async () => (await import('./commands/generate.js')).registerGenerate },
  {
    commands: ['serve'],
    // The server runs other processes' commands with this same `main` (passed in: importing it would be a cycle).
    load: async () => {
      const { registerServe } = await import('./commands/serve.js');
      return (program) => registerServe(program, { runCli: main });
    },
  },
  { commands: ['keys'], load: async () => (await import('./commands/keys.js')).registerKeys },
  { commands: ['features', 'report'], load: async () => (await import('./commands/model.js')).registerModel },
  {
    commands: ['segments', 'refresh'],
    load: async () => (await import('./commands/segments.js')).registerSegments,
  },
  {
    commands: ['activate', 'playbook', 'deliveries', 'decide', 'audiences'],
    load: async () => (await import('./commands/activate.js')).registerActivate,
  },
  {
    commands: ['audit', 'privacy', 'govern'],
    load: async () => (await import('./commands/govern.js')).registerGovern,
  },
  { commands: ['models'], load: async () => (await import('./commands/models.js')).registerModels },
  { commands: ['stream'], load: async () => (await import('./commands/stream.js')).registerStream },
  {
    commands: ['backup', 'restore'],
    load: async () => (await import('./commands/backup.js')).registerBackup,
  },
];

export interface CommandModule {
  /** The top-level commands the module registers or adds subcommands to (`stats` has two modules). */
  commands: readonly string[];
  load: () => Promise<(program: Command) => void>;
}

/** Global options that take a value (the next word). */
const GLOBAL_VALUE_OPTIONS = ['--db', '--engine', '--clickhouse-url'];

/** The first word of argv that names a command, skipping the global options (and their values). */
function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (GLOBAL_VALUE_OPTIONS.includes(word)) i++;
    else if (!word.startsWith('-')) return word;
  }
  return undefined;
}

/**
 * The program with only the modules `argv` needs: those that register its command or add to it. Help, an unknown
 * word or no command at all load every module, so help and "did you mean" see everything.
 */
export async function buildProgramFor(argv: readonly string[]): Promise<Command> {
  const word = commandWord(argv);
  const needed = COMMAND_MODULES.filter((m) => word !== undefined && m.commands.includes(word));
  const versionOnly = word === undefined && (argv.includes('--version') || argv.includes('-V'));
  const modules = versionOnly ? [] : needed.length === 0 ? COMMAND_MODULES : needed;
  const program = baseProgram();
  for (const register of await Promise.all(modules.map((m) => m.load()))) register(program);
  return program;
}

/** Every command, for help texts and tests. */
export async function buildProgram(): Promise<Command> {
  return buildProgramFor([]);
}

function baseProgram(): Command {
  const program = new Command('segflow')
    .description(
      'behavioral segmentation for growth teams: Segment-spec events in, segments and measured plays out',
    )
    .option(
      '--db <path>',
      'database file (default: $SEGFLOW_DB, else db in segflow.config.yaml, else ./segflow.duckdb)',
    )
    .option(
      '--engine <name>',
      'storage engine: duckdb or clickhouse (default: $SEGFLOW_ENGINE, else engine in segflow.config.yaml, else duckdb)',
    )
    .option(
      '--clickhouse-url <url>',
      'ClickHouse server HTTP URL, with --engine clickhouse (default: $SEGFLOW_CLICKHOUSE_URL, else clickhouse.url; none: the embedded engine)',
    )
    .version(VERSION, '-V, --version', 'print the segflow version')
    .showHelpAfterError()
    // Through output.ts, so that a command `segflow serve` runs for another process prints to that process.
    .configureOutput({ writeOut: writeStdout, writeErr: writeStderr })
    .exitOverride()
    // While `segflow serve` holds the database, commands run through it (docs/cli-and-server.md).
    .hook('preAction', async (_program, action) => {
      if (!runsHere(action)) await (await import('./context.js')).forwardWhenServed(action);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgramFor(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    // The database is held by `segflow serve`: the same command runs there (docs/cli-and-server.md).
    if (e instanceof DatabaseServed) {
      const { runOnServer } = await import('./run-on-server.js');
      return runOnServer(e.served, argv).catch((err) => failed(err, argv));
    }
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
