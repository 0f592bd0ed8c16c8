import { timingSafeEqual } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { credentialFromHeader } from './auth.js';
import { HttpError } from './http-error.js';
import { validate } from './schemas.js';

/**
 * `POST /api/local/cli`: run one `segflow` command inside the server, on the database it holds, for a CLI process
 * of the same machine and user (the CLI beside a running server, docs/cli-and-server.md). It is not part of the
 * admin API: it takes only the local token that `segflow serve` writes beside the database (mode 0600), never an API
 * key, and only from loopback — a command may read and write files wherever its user may, which no API key allows.
 */
export const LOCAL_CLI_PATH = '/api/local/cli';

export const LocalCliRequestSchema = z.object({
  argv: z.array(z.string().max(100_000)).max(1_000).describe('the arguments after `segflow`'),
  cwd: z
    .string()
    .refine(isAbsolute, 'must be an absolute path')
    .describe("the caller's working directory: relative paths in the command mean this"),
  db: z.string().min(1).describe('the database the caller meant, absolute: must be the one the server holds'),
  stderrIsTTY: z.boolean().describe("whether the caller's stderr is a terminal (progress bars)"),
});
export type LocalCliRequest = z.infer<typeof LocalCliRequestSchema>;

/** The answer is NDJSON, one frame a line, as the command writes: output in order, then its exit code last. */
export const LocalCliFrameSchema = z.union([
  z.object({ stdout: z.string() }),
  z.object({ stderr: z.string() }),
  z.object({ exit: z.number().int() }),
]);
export type LocalCliFrame = z.infer<typeof LocalCliFrameSchema>;

export interface LocalCliOptions {
  token: string;
  /** Run one command for the caller, writing its output through `output`; resolves with its exit code. */
  run(
    request: LocalCliRequest,
    output: { stdout(text: string): void; stderr(text: string): void },
  ): Promise<number>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function registerLocalCliRoute(app: FastifyInstance, options: LocalCliOptions): void {
  app.post(LOCAL_CLI_PATH, { config: { kind: 'admin' } }, async (request, reply) => {
    const cred = credentialFromHeader(request.headers.authorization);
    // Loopback, or this machine's own address when the server listens on a specific one.
    const remote = request.socket.remoteAddress ?? '';
    const local = LOOPBACK.has(remote) || remote === request.socket.localAddress;
    if (!local || typeof cred !== 'object') {
      throw new HttpError(
        401,
        'AUTH_MISSING',
        'this endpoint takes only the local token of `segflow serve`, from this machine',
        'run the `segflow` command on the machine and as the user that runs the server; it finds the token itself',
      );
    }
    if (!sameToken(cred.key, options.token)) {
      throw new HttpError(
        401,
        'AUTH_INVALID',
        'the local token does not match this server',
        'the server was restarted: run the command again',
      );
    }
    const body = validate(LocalCliRequestSchema, request.body, 'body');
    const frames = new PassThrough();
    const send = (frame: LocalCliFrame) => frames.write(`${JSON.stringify(frame)}\n`);
    void options
      .run(body, { stdout: (text) => send({ stdout: text }), stderr: (text) => send({ stderr: text }) })
      .catch((e: unknown) => {
        send({ stderr: `error: ${e instanceof Error ? e.message : String(e)}\n` });
        return 1;
      })
      .then((exit) => {
        send({ exit });
        frames.end();
      });
    reply.header('content-type', 'application/x-ndjson; charset=utf-8');
    return reply.send(frames);
  });
}
