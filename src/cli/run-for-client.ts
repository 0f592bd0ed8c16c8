import { resolve } from 'node:path';
import { inWorkingDir } from '../config/working-dir.js';
import type { Warehouse } from '../engine/warehouse.js';
import type { LocalCliOptions } from '../server/local-cli-route.js';
import { withInvocation } from './invocation.js';

/**
 * The server's half of the CLI beside a running server: run the same command handler the CLI process would, on the
 * server's open database, with its output captured for the caller and relative paths meaning the caller's folder.
 * `runCli` is `main` (passed in, as main.ts registers the serve command: importing it here would make a cycle).
 */
export function runForClient(o: {
  warehouse: () => Warehouse;
  /** The server's collector: loads what it acknowledged before the call (see Invocation.settled). */
  settled?: () => Promise<void>;
  runCli: (argv: string[]) => Promise<number>;
}): LocalCliOptions['run'] {
  return async (request, output) => {
    const warehouse = o.warehouse();
    if (resolve(request.db) !== resolve(warehouse.location)) {
      output.stderr(
        `error: this server holds ${resolve(warehouse.location)}, not ${request.db}\n  hint: pass --db with the database you mean\n`,
      );
      return 1;
    }
    return inWorkingDir(request.cwd, () =>
      withInvocation({ ...output, stderrIsTTY: request.stderrIsTTY, warehouse, settled: o.settled }, () =>
        o.runCli(request.argv),
      ),
    );
  };
}
