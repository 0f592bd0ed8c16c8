import { z } from 'zod';

/**
 * A point in time in a result schema: a Date in the library, an ISO-8601 UTC string in JSON. The schemas of library
 * results (refresh summaries, reports, fits) use it, so the TypeScript type (`z.output`, with Date) and the JSON that
 * the CLI and the admin API print (`z.input`, with strings; what OpenAPI documents) come from one declaration.
 */
export const Timestamp = z
  .codec(z.iso.datetime({ offset: true }), z.date(), {
    decode: (text) => new Date(text),
    encode: (date) => date.toISOString(),
  })
  .describe('ISO-8601, UTC');
