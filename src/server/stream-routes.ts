import type { z } from 'zod';
import { type StreamEvaluator, StreamStatusSchema, streamOffStatus } from '../pipeline/stream.js';
import { type ApiRoute, defineRoute, jsonDates } from './admin-routes.js';

/**
 * The stream's state (pipeline/stream.ts) on the admin API: `GET /api/v1/stream`, also what `segflow stream status`
 * prints. A server without streaming answers mode `off`.
 *
 * @example
 * buildServer({ warehouse, routes: streamRoutes(() => stream) });
 */
export function streamRoutes(stream: () => StreamEvaluator | undefined): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/stream',
      permission: 'read',
      tag: 'activate',
      summary:
        'Streaming evaluation: mode (streaming, batch, off), lag, the due-time queue, the last evaluation',
      response: StreamStatusSchema,
      handler: async () =>
        jsonDates(stream()?.status() ?? streamOffStatus()) as z.input<typeof StreamStatusSchema>,
    }),
  ];
}
