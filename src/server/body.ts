import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { type PreparedMessage, prepareMessage } from '../instrument/prepare-message.js';
import { HttpError } from './http-error.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** The collector's limits (Segment's: 500 KB per request, 32 KB per event, 2,500 events per batch). */
export interface Limits {
  /** Largest request body, after decompression. Default 500 KB. */
  maxBodyBytes: number;
  /** Most messages in one batch. Default 2,500. */
  maxBatchEvents: number;
  /** How long a client may take to send its body once the headers are in. Default 10 s. */
  bodyTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 500 * 1024,
  maxBatchEvents: 2500,
  bodyTimeoutMs: 10_000,
};

function tooLarge(bytes: number | undefined, limit: number): HttpError {
  return new HttpError(
    400,
    'BODY_TOO_LARGE',
    `the request body ${bytes === undefined ? 'is' : `is ${bytes} bytes,`} over the limit of ${limit} bytes`,
    'send smaller batches (Segment SDKs keep batches under 500 KB on their own); events over 32 KB are never accepted',
  );
}

/**
 * Read a request body with a size cap and a deadline, then undo its Content-Encoding (gzip or deflate) with the same
 * cap on the decompressed size, so a small compressed bomb cannot expand in memory.
 */
export async function readBody(
  stream: Readable,
  headers: IncomingHttpHeaders,
  limits: Limits,
  options: { forceGzip?: boolean } = {},
): Promise<Buffer> {
  const encoding = (options.forceGzip ? 'gzip' : String(headers['content-encoding'] ?? 'identity'))
    .trim()
    .toLowerCase();
  if (!['identity', 'gzip', 'x-gzip', 'deflate', ''].includes(encoding)) {
    throw new HttpError(
      415,
      'BODY_ENCODING_UNSUPPORTED',
      `Content-Encoding '${encoding.slice(0, 40)}' is not supported`,
      'send the body uncompressed or with Content-Encoding: gzip',
    );
  }
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBodyBytes) {
    throw tooLarge(Number(declared), limits.maxBodyBytes);
  }
  const raw = await collect(stream, limits);
  if (encoding === 'identity' || encoding === '') return raw;
  try {
    const options = { maxOutputLength: limits.maxBodyBytes };
    return encoding === 'deflate' ? await inflateAsync(raw, options) : await gunzipAsync(raw, options);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw tooLarge(undefined, limits.maxBodyBytes);
    throw new HttpError(
      400,
      'BODY_GZIP_INVALID',
      `the body could not be decompressed as ${encoding}: ${(e as Error).message}`,
      'send valid gzip data with Content-Encoding: gzip, or drop the header and send plain JSON',
    );
  }
}

function collect(stream: Readable, limits: Limits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: HttpError | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err) {
        // Stop reading: the reply closes the connection (Fastify sets Connection: close on a parser error).
        stream.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) finish(tooLarge(undefined, limits.maxBodyBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    const onError = (e: Error) =>
      finish(
        new HttpError(
          400,
          'BODY_INVALID',
          `the request body could not be read: ${e.message}`,
          'send the whole body in one request',
        ),
      );
    const onClose = () =>
      finish(
        new HttpError(400, 'BODY_INVALID', 'the client closed the connection before the body was complete'),
      );
    const timer = setTimeout(
      () =>
        finish(
          new HttpError(
            408,
            'BODY_TIMEOUT',
            `the request body did not arrive within ${limits.bodyTimeoutMs} ms`,
            'send the body at once; the request can be retried',
          ),
        ),
      limits.bodyTimeoutMs,
    );
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Parse a body as JSON, whatever the Content-Type said (SDKs send JSON as text/plain or form-urlencoded). */
export function parseJson(body: Buffer): unknown {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    throw new HttpError(
      400,
      'BODY_INVALID',
      'the request body is empty',
      'send one JSON object, e.g. {"batch":[{"type":"track","event":"Signed Up","userId":"u1"}]}',
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(
      400,
      'BODY_INVALID',
      `the request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`,
      'send one JSON object (any Content-Type is accepted, the body must be JSON)',
    );
  }
}

/**
 * Prepare a message for storage (the fast-path record, or its JSON text); a value nested too deeply for the serializer
 * is a request that can never succeed.
 */
export function toStorable(value: unknown, receivedAt: Date): PreparedMessage {
  try {
    return prepareMessage(value, receivedAt);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new HttpError(
        400,
        'BODY_TOO_DEEP',
        'a message is nested too deeply to be stored (thousands of levels of arrays or objects)',
        'flatten properties and traits: a few levels of nesting are plenty',
      );
    }
    throw e;
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
