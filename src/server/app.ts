import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { packageVersion } from '../config/package-files.js';
import type { ClickHouseConfig } from '../engine/clickhouse/clickhouse-config.js';
import { openWarehouse } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';
import { isSegflowError } from '../errors.js';
import { defaultIntakeLogDir } from '../instrument/intake-log.js';
import { ExposureRecorder } from '../personalize/exposure-recorder.js';
import { cycleInputs } from '../pipeline/cycle.js';
import { StreamEvaluator, type StreamOptions, streamOffStatus } from '../pipeline/stream.js';
import { activateRoutes, decideServices } from './activate-routes.js';
import { ADMIN_ROUTES, type ApiRoute, registerAdminRoutes, settles } from './admin-routes.js';
import { backupRoutes } from './backup-routes.js';
import { DEFAULT_LIMITS, type Limits, parseJson, readBody } from './body.js';
import { registerCollectorRoutes } from './collector-routes.js';
import { dashboardApiRoutes } from './dashboard-api-routes.js';
import { dashboardReportRoutes } from './dashboard-report-routes.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { GOVERN_ROUTES } from './govern-routes.js';
import { type GroupCommitOptions, GroupCommitter } from './group-commit.js';
import { type ErrorBody, HttpError, maskedMessage, statusOf } from './http-error.js';
import { type LocalCliOptions, registerLocalCliRoute } from './local-cli-route.js';
import { MEASURE_ROUTES } from './measure-routes.js';
import { Metrics } from './metrics.js';
import { MODEL_ROUTES } from './model-routes.js';
import { buildOpenApi } from './openapi.js';
import { PROPENSITY_ROUTES } from './propensity-routes.js';
import { SessionStore } from './session.js';
import { streamRoutes } from './stream-routes.js';

/**
 * The HTTP server: the collector, the admin API and operations endpoints, wired over the library. No business logic
 * lives here; the pipeline, identity graph, profiles and keys are the steps' own functions.
 */
export interface ServerOptions {
  warehouse: Warehouse;
  /** Structured JSON logs (pino): false (default) for none, true for info to stdout, or a level and stream. */
  logger?: boolean | { level?: string; stream?: NodeJS.WritableStream };
  limits?: Partial<Limits>;
  groupCommit?: GroupCommitOptions;
  /** Extra admin API routes (later capabilities add theirs here). */
  routes?: readonly ApiRoute[];
  /** The playbook decide() and activation read (default: `playbook:` in segflow.config.yaml, else ./playbook.yaml). */
  playbook?: string;
  /** The segment files a refresh reads (default: `segments:` in segflow.config.yaml, else ./segments). */
  segmentsDir?: string;
  /** decide()'s exposure recorder: its log directory (default `<database>.exposures`; false: none) and flush interval. */
  exposures?: { logDir?: string | false; flushMs?: number };
  /** The built dashboard served at / (default: dist/ui of this package). */
  uiDir?: string;
  /** Run CLI commands for local CLI processes (`segflow serve` passes this; local-cli-route.ts). */
  localCli?: LocalCliOptions;
  /**
   * Streaming evaluation (pipeline/stream.ts): memberships and plays follow each load within about a second. Off
   * unless given (`segflow serve` turns it on; `--no-stream` off); options as StreamOptions, inputs default to the
   * cycle's (segflow.config.yaml, the segments folder, the playbook).
   */
  stream?: false | Partial<StreamOptions>;
  /**
   * Load decide()'s snapshot before the server answers (what `segflow serve` does): its first decisions are lookups
   * instead of each reading its person alone while the load of everyone competes with the stream's first evaluations.
   * Off by default: a decision then follows writes made beside the server (tests write to the warehouse directly)
   * until the snapshot is first loaded, on the first decision.
   */
  warmDecide?: boolean;
}

export interface SegflowServer {
  app: FastifyInstance;
  committer: GroupCommitter;
  /** Where decide()'s exposures queue on their way to the exposure log and the warehouse. */
  exposures: ExposureRecorder;
  metrics: Metrics;
  /** Build-time OpenAPI document (also served at /api/openapi.json). */
  openapi: Record<string, unknown>;
  /** Dashboard sessions (and one-time sign-in links). */
  sessions: SessionStore;
  /** Streaming evaluation, when on. */
  stream: StreamEvaluator | undefined;
}

type RouteKind = 'collector' | 'posthog' | 'admin' | 'ops';

function kindOf(request: FastifyRequest): RouteKind | undefined {
  return (request.routeOptions.config as { kind?: RouteKind } | undefined)?.kind;
}

/** The request as logs show it: method and route pattern, never a URL (a settings URL holds a write key). */
function safeRequest(request: FastifyRequest): { method: string; route: string } {
  return { method: request.method, route: request.routeOptions.url ?? 'unmatched' };
}

function errorResponse(e: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (e instanceof HttpError) {
    return { status: e.status, body: e.toJSON(), headers: { ...e.headers } };
  }
  if (isSegflowError(e)) return { status: statusOf(e.code), body: e.toJSON(), headers: {} };
  const fe = e as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      body: {
        code: fe.statusCode === 404 ? 'ROUTE_NOT_FOUND' : 'REQUEST_INVALID',
        message: String(fe.message ?? 'bad request'),
      },
      headers: {},
    };
  }
  return {
    status: 500,
    body: {
      code: 'INTERNAL',
      message: 'an internal error occurred',
      hint: 'this is a bug in segflow; the server log has details (search for the request id)',
    },
    headers: {},
  };
}

/** The collector's intake log: where told (`false`: none), else beside the database (defaultIntakeLogDir). */
function intakeLogDir(wh: Warehouse, option: string | false | undefined): string | undefined {
  if (option === false) return undefined;
  return option ?? defaultIntakeLogDir(wh.location);
}

/** Acknowledged events the loader has not reached beyond which streaming counts as batch evaluation of a backlog. */
const BEHIND_EVENTS = 50_000;

function loaderBehind(committer: GroupCommitter): string | null {
  const backlog = committer.depth().backlogEvents;
  if (committer.lastLoadError)
    return `the intake log's loader is failing: ${committer.lastLoadError.message}`;
  return backlog > BEHIND_EVENTS
    ? `the intake log's loader is ${backlog} events behind: evaluations cover the backlog in batches`
    : null;
}

/** decide()'s exposure log: next to a database file unless told otherwise; none for an in-memory database. */
function exposureLogDir(wh: Warehouse, option: string | undefined): string | undefined {
  if (option !== undefined) return option;
  return wh.location === ':memory:' || wh.location === '' ? undefined : `${wh.location}.exposures`;
}

/** Answer a connection-level error (a malformed request line, oversized headers) with the JSON error shape. */
function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = timeout ? 408 : tooLarge ? 431 : 400;
  const body = JSON.stringify({
    code: timeout ? 'BODY_TIMEOUT' : 'REQUEST_INVALID',
    message: timeout
      ? 'the request did not arrive in time'
      : tooLarge
        ? 'the request headers are too large'
        : `the request is not valid HTTP (${err.code ?? 'parse error'})`,
  });
  socket.end(
    `HTTP/1.1 ${status} ${timeout ? 'Request Timeout' : tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function buildServer(options: ServerOptions): Promise<SegflowServer> {
  const wh = options.warehouse;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = new Metrics();
  let stream: StreamEvaluator | undefined;
  const committer = new GroupCommitter(wh, {
    ...options.groupCommit,
    intakeLog: intakeLogDir(wh, options.groupCommit?.intakeLog),
    onCommit: (r) => {
      metrics.recordCommit(r);
      // New events in the warehouse (a load of the intake log, or a direct commit): the stream evaluates them.
      if (stream && r.kind !== 'log' && r.error === undefined && (r.counts?.inserted ?? 0) > 0) {
        stream.setBehind(loaderBehind(committer));
        stream.notifyEvents();
      }
    },
  });
  // Events a crash acknowledged but did not load are loaded before the server answers anything.
  const opened = await committer.open();
  if (options.stream) {
    const own = options.stream;
    stream = new StreamEvaluator(wh, {
      inputs: () =>
        cycleInputs({
          ...(options.segmentsDir ? { segmentsDir: options.segmentsDir } : {}),
          ...(options.playbook ? { playbook: options.playbook } : {}),
        }),
      ...own,
      onEvaluation: (e) => {
        metrics.recordEvaluation(e);
        own.onEvaluation?.(e);
      },
      onError: (e) => {
        metrics.streamFailures++;
        app.log.error({ err: maskedMessage(e) }, 'stream evaluation failed (retried)');
        own.onError?.(e);
      },
    });
  }
  const exposureLog = options.exposures?.logDir;
  const logDir = exposureLog === false ? undefined : exposureLogDir(wh, exposureLog);
  const exposures = new ExposureRecorder(wh, {
    ...(logDir ? { logDir } : {}),
    ...(options.exposures?.flushMs ? { flushMs: options.exposures.flushMs } : {}),
  });
  // So are the exposures a crash left in the exposure log.
  await exposures.open();
  const logger: FastifyServerOptions['logger'] =
    options.logger === undefined || options.logger === false
      ? false
      : {
          level: options.logger === true ? 'info' : (options.logger.level ?? 'info'),
          ...(options.logger !== true && options.logger.stream ? { stream: options.logger.stream } : {}),
          // Only what is safe: never headers (keys), URLs (settings URLs hold a write key) or bodies (traits).
          serializers: { req: () => ({}), res: () => ({}) },
        };
  const app = Fastify({
    logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Node's own deadline for a whole request: a backstop behind the body deadline, which answers in JSON.
    requestTimeout: limits.bodyTimeoutMs * 3,
    keepAliveTimeout: 65_000,
    clientErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    return503OnClosing: true,
    // Errors Fastify raises before routing (a malformed URL, an over-long path parameter): the same JSON shape.
    frameworkErrors: (err, _request, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      (reply as unknown as FastifyReply).code(status).send({
        code: 'REQUEST_INVALID',
        message: err.message.slice(0, 300),
        hint: 'check the URL: paths and parameters must be valid percent-encoded text',
      } satisfies ErrorBody);
    },
  });

  // JSON whatever the Content-Type says: one parser for every body, with the size cap, deadline and gzip.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', async (request: FastifyRequest, payload: IncomingMessage) => {
    const forceGzip = (request.query as { compression?: string } | undefined)?.compression === 'gzip-js';
    return parseJson(await readBody(payload, request.headers, limits, { forceGzip }));
  });
  app.addHook('onRequest', async (request) => {
    // A malformed Content-Type must not stop a body from being read as JSON.
    delete request.raw.headers['content-type'];
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body, headers } = errorResponse(err);
    if (status === 413 || (body.code === 'BODY_TOO_LARGE' && kindOf(request) === 'posthog')) {
      reply.code(413);
    } else reply.code(status);
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    if (kindOf(request) === 'collector') reply.header('access-control-allow-origin', '*');
    if (status >= 500) {
      request.log.warn(
        {
          ...safeRequest(request),
          status,
          code: body.code,
          error: maskedMessage((err as Error).cause ?? err),
        },
        'request failed',
      );
    }
    return reply.send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      code: 'ROUTE_NOT_FOUND',
      message: `${request.method} ${request.url.split('?')[0]!.slice(0, 200)} is not a segflow endpoint`,
      hint: 'the collector takes POST /v1/batch (and /v1/track, …); the admin API is under /api/v1 (see /api/openapi.json)',
    } satisfies ErrorBody);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.recordRequest(route, reply.statusCode);
    request.log.info(
      { ...safeRequest(request), status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  if (opened.replayed > 0 || opened.discardedBytes > 0) {
    app.log.info({ replayed: opened.replayed, discardedBytes: opened.discardedBytes }, 'intake log replayed');
  }
  // Admin reads see every acknowledged event: what waits in the intake log is loaded first (at once, not on the timer),
  // unless the route answers from what it keeps in memory (decide: see its `settles`).
  app.addHook('preHandler', async (request) => {
    if (kindOf(request) === 'admin' && settles(request.routeOptions.config, request.query))
      await committer.settled().catch(() => undefined);
  });

  registerCollectorRoutes(app, { wh, committer, limits });
  const decide = decideServices({ playbook: options.playbook, exposures });
  const adminRoutes = [
    ...ADMIN_ROUTES,
    ...MODEL_ROUTES,
    ...PROPENSITY_ROUTES,
    ...MEASURE_ROUTES,
    ...GOVERN_ROUTES,
    ...backupRoutes({ committer }),
    ...activateRoutes({
      playbook: options.playbook,
      segmentsDir: options.segmentsDir,
      exposures,
      decide,
    }),
    ...dashboardApiRoutes({ playbook: options.playbook, segmentsDir: options.segmentsDir }),
    ...dashboardReportRoutes({ committer, metrics }),
    ...streamRoutes(() => stream),
    ...(options.routes ?? []),
  ];
  const sessions = new SessionStore();
  registerAdminRoutes(app, wh, adminRoutes, sessions, (fn) => (stream ? stream.exclusive(fn) : fn()));
  registerDashboardRoutes(app, { wh, sessions, uiDir: options.uiDir });
  if (options.localCli) registerLocalCliRoute(app, options.localCli);

  const openapi = buildOpenApi({
    routes: adminRoutes,
    limits,
    version: packageVersion(),
  });
  // Streaming degrades to batch evaluation of the backlog when the loader falls behind: /healthz says so.
  const streamHealth = () => {
    if (!stream) return streamOffStatus();
    stream.setBehind(loaderBehind(committer));
    return stream.status();
  };
  app.get('/api/openapi.json', { config: { kind: 'ops' } }, async () => openapi);
  app.get('/healthz', { config: { kind: 'ops' } }, async (_request, reply) => {
    const queue = committer.depth();
    if (committer.lastError || committer.lastLoadError) {
      const failed = committer.lastError
        ? `the last commit failed at ${committer.lastError.at.toISOString()}: ${committer.lastError.message}`
        : `the last load of the intake log failed at ${committer.lastLoadError!.at.toISOString()}: ${committer.lastLoadError!.message}`;
      reply.code(503);
      return { status: 'failing', code: 'STORAGE_FAILED', message: failed, queue, stream: streamHealth() };
    }
    return { status: 'ok', queue, stream: streamHealth() };
  });
  app.get('/metrics', { config: { kind: 'ops' } }, async (_request, reply) => {
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return metrics.render(committer.depth(), streamHealth());
  });

  // Closing drains the write queue: everything acknowledged is committed, everything queued gets its answer.
  app.addHook('onClose', async () => {
    await stream?.stop();
    await exposures.close();
    await committer.close();
  });
  await app.ready();
  // Evaluates at once (rebuilding the due-time queue from the warehouse), then follows loads and due edges.
  if (stream) void stream.start();
  // decide()'s snapshot is loaded before the server answers: its first decisions are lookups, not reads of their own.
  // A playbook that does not load is reported by the routes that read it, as before: the server still starts.
  if (options.warmDecide)
    await decide.warm(wh).catch((e: Error) => app.log.warn({ err: e.message }, 'decide snapshot not loaded'));
  return { app, committer, exposures, metrics, openapi, sessions, stream };
}

export interface StartOptions {
  dbPath: string;
  /** ClickHouse instead of the DuckDB file at dbPath (a server, or the embedded engine in a folder). */
  clickhouse?: ClickHouseConfig;
  host?: string;
  port?: number;
  logger?: ServerOptions['logger'];
  limits?: Partial<Limits>;
  groupCommit?: GroupCommitOptions;
  playbook?: string;
  segmentsDir?: string;
  localCli?: LocalCliOptions;
  stream?: ServerOptions['stream'];
}

export interface RunningServer extends SegflowServer {
  url: string;
  warehouse: Warehouse;
  /** Stop taking requests, commit what is queued, and close the database. */
  close(): Promise<void>;
}

/** Open the database and listen. The caller owns the returned server and must close it. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const warehouse = await openWarehouse({ path: options.dbPath, clickhouse: options.clickhouse });
  let server: SegflowServer;
  try {
    server = await buildServer({
      warehouse,
      logger: options.logger,
      limits: options.limits,
      groupCommit: options.groupCommit,
      playbook: options.playbook,
      segmentsDir: options.segmentsDir,
      localCli: options.localCli,
      stream: options.stream,
      warmDecide: true,
    });
    await server.app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8787 });
  } catch (e) {
    await warehouse.close();
    throw e;
  }
  const address = server.app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    ...server,
    url,
    warehouse,
    close() {
      closing ??= (async () => {
        try {
          await server.app.close();
        } finally {
          await warehouse.close();
        }
      })();
      return closing;
    },
  };
}
