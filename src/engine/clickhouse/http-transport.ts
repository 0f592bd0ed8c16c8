import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type ClickHouseSettings, createClient } from '@clickhouse/client';
import { CLICKHOUSE_SESSION_SETTINGS, type ClickHouseTransport, type CompactResult } from './transport.js';

export interface ClickHouseServerOptions {
  /** The server's HTTP interface, e.g. http://127.0.0.1:8123. */
  url: string;
  database: string;
  username?: string;
  password?: string;
}

/**
 * The URL without credentials, for messages.
 *
 * @example
 * safeUrl('http://u:secret@host:8123/') // 'http://host:8123'
 */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * A ClickHouse server over HTTP through the official client. One session id for the warehouse's lifetime, so that
 * its temporary (scratch) tables and settings carry from one statement to the next, as on an embedded connection.
 *
 * @example
 * const transport = openHttpTransport({ url: 'http://127.0.0.1:8123', database: 'segflow' });
 */
export function openHttpTransport(options: ClickHouseServerOptions): ClickHouseTransport {
  const client = createClient({
    url: options.url,
    database: options.database,
    username: options.username ?? 'default',
    password: options.password ?? '',
    session_id: `segflow-${randomUUID()}`,
    // The client's settings type wants text for some numeric settings; ClickHouse reads both.
    clickhouse_settings: Object.fromEntries(
      Object.entries(CLICKHOUSE_SESSION_SETTINGS).map(([k, v]) => [k, String(v)]),
    ) as ClickHouseSettings,
    // One statement at a time per session: the server refuses a second while the session is busy.
    max_open_connections: 1,
  });
  const sendFile = async (insert: string, body: Readable): Promise<void> => {
    // The query goes in the URL and the stream is the request body, sent as it is read.
    const result = await client.exec({ query: insert, values: body });
    // Read the (empty) answer to its end, which frees the one connection for the next statement.
    await finished(result.stream.resume());
  };
  return {
    location: safeUrl(options.url),
    async exec(sql) {
      await client.command({ query: sql });
    },
    async select(sql): Promise<CompactResult> {
      const result = await client.query({ query: sql, format: 'JSONCompact' });
      return (await result.json()) as unknown as CompactResult;
    },
    async insert(table, columns, lines) {
      // The lines go as the request body as they are: the client's insert() would parse and re-encode every row.
      await sendFile(
        `INSERT INTO ${table} (${columns.join(', ')}) FORMAT JSONCompactEachRow`,
        Readable.from([Buffer.from(lines)], { objectMode: false }),
      );
    },
    sendFile,
    async raw(sql, format) {
      const result = await client.exec({ query: `${sql} FORMAT ${format}` });
      const chunks: Buffer[] = [];
      for await (const chunk of result.stream) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks);
    },
    async close() {
      await client.close();
    },
  };
}
