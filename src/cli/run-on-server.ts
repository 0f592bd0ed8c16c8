import { SegflowError } from '../errors.js';
import {
  LOCAL_CLI_PATH,
  type LocalCliFrame,
  LocalCliFrameSchema,
  type LocalCliRequest,
} from '../server/local-cli-route.js';
import type { ServedDatabase } from './served-database.js';

/**
 * The CLI beside a running server: send the whole command to the `segflow serve` that holds the database, print
 * its output as it arrives (stdout to stdout, stderr to stderr) and return its exit code — what the same command
 * prints and returns without the server.
 */
export async function runOnServer(served: ServedDatabase, argv: readonly string[]): Promise<number> {
  const request: LocalCliRequest = {
    argv: [...argv],
    cwd: process.cwd(),
    db: served.db,
    stderrIsTTY: process.stderr.isTTY === true,
  };
  let response: Response;
  try {
    response = await fetch(`${served.url}${LOCAL_CLI_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch (e) {
    throw new SegflowError(
      'SERVER_RUNNING',
      `segflow serve (pid ${served.pid}) holds ${served.db} but does not answer at ${served.url}: ${(e as Error).cause ?? (e as Error).message}`,
      `if that server is stuck, stop it (kill -TERM ${served.pid}) and run the command again`,
    );
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as {
      code?: string;
      message?: string;
      hint?: string;
    };
    throw new SegflowError(
      'SERVER_RUNNING',
      `segflow serve (pid ${served.pid}) refused the command: ${body.message ?? `HTTP ${response.status}`}`,
      body.hint ?? 'run the command again; if it keeps failing, stop the server and run it alone',
    );
  }
  let exit: number | undefined;
  let pending = '';
  const decoder = new TextDecoder();
  const take = (line: string) => {
    if (!line) return;
    const frame: LocalCliFrame = LocalCliFrameSchema.parse(JSON.parse(line));
    if ('stdout' in frame) process.stdout.write(frame.stdout);
    else if ('stderr' in frame) process.stderr.write(frame.stderr);
    else exit = frame.exit;
  };
  for await (const chunk of response.body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) take(line);
  }
  take(pending + decoder.decode());
  if (exit === undefined) {
    throw new SegflowError(
      'SERVER_RUNNING',
      `segflow serve (pid ${served.pid}) stopped before the command finished`,
      'check the server log; run the command again once the server is back (or alone, with the server stopped)',
    );
  }
  return exit;
}
