import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { buildProgram, buildProgramFor, COMMAND_MODULES } from '../../src/cli/main.js';

/** The lazy command table in main.ts must say exactly what each module registers, or a command would go missing. */
describe('CLI command modules, loaded on demand', () => {
  it('each module registers exactly the top-level commands the table names for it', async () => {
    for (const module of COMMAND_MODULES) {
      const program = new Command('segflow');
      (await module.load())(program);
      assert.deepEqual(
        program.commands.map((c) => c.name()).sort(),
        [...module.commands].sort(),
        `the table's commands for ${module.load.toString()}`,
      );
    }
  });

  it('a command run alone gets the same definition as in the full program (options and subcommands)', async () => {
    const full = await buildProgram();
    const shape = (c: Command): unknown => ({
      name: c.name(),
      options: c.options.map((o) => o.flags),
      sub: c.commands.map(shape),
    });
    for (const command of full.commands) {
      const alone = await buildProgramFor(['--db', 'x.duckdb', command.name()]);
      const found = alone.commands.find((c) => c.name() === command.name());
      assert.ok(found, `${command.name()} is registered when it is the command run`);
      assert.deepEqual(shape(found), shape(command));
    }
  });

  it('help, an unknown word and no command load every command', async () => {
    const all = (await buildProgram()).commands.map((c) => c.name());
    for (const argv of [['help'], ['--help'], ['segmnts'], []]) {
      assert.deepEqual(
        (await buildProgramFor(argv)).commands.map((c) => c.name()),
        all,
        argv.join(' '),
      );
    }
  });
});
