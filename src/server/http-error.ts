import { type ErrorCode, SegflowError } from '../errors.js';

/** A SegflowError with the HTTP status (and headers) it is answered with. */
export class HttpError extends SegflowError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    hint?: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, message, hint, { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.headers = options.headers ?? {};
  }
}

/** The one JSON error shape every segflow endpoint answers with. */
export interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
}

/** HTTP status for a SegflowError raised by a library function (not already an HttpError). */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'NOT_FOUND':
    case 'ROUTE_NOT_FOUND':
      return 404;
    case 'AUTH_MISSING':
    case 'AUTH_INVALID':
      return 401;
    case 'AUTH_FORBIDDEN':
      return 403;
    case 'BODY_TIMEOUT':
      return 408;
    case 'BODY_ENCODING_UNSUPPORTED':
      return 415;
    case 'QUEUE_FULL':
    case 'WAREHOUSE_BEHIND':
      return 429;
    case 'STORAGE_FAILED':
    case 'INTAKE_LOG_UNAVAILABLE':
    case 'SERVER_CLOSING':
    case 'DB_LOCKED':
    case 'SERVER_RUNNING':
    case 'CLICKHOUSE_UNAVAILABLE':
      return 503;
    case 'PATH_NOT_ALLOWED':
    case 'BACKUP_INVALID':
    case 'USAGE':
    case 'CONFIG_INVALID':
    case 'SQL_NOT_READ_ONLY':
    case 'REQUEST_INVALID':
    case 'BODY_INVALID':
    case 'BODY_TOO_LARGE':
    case 'BODY_TOO_DEEP':
    case 'BODY_GZIP_INVALID':
    case 'BATCH_TOO_LARGE':
    case 'IMPORT_FILE_UNREADABLE':
    case 'IMPORT_MAPPING_INVALID':
    case 'IMPORT_PRESET_UNKNOWN':
    case 'SEGMENT_INVALID':
    case 'STATS_INPUT_INVALID':
    case 'ARMS_INVALID':
    case 'MODEL_DATA_INVALID':
      return 400;
    case 'MODEL_NOT_FITTED':
      return 404;
    case 'IDENTIFIER_AMBIGUOUS':
      return 409;
    case 'MODEL_NO_DATA':
    case 'MODEL_FIT_FAILED':
    case 'SEND_REFUSED':
      return 422;
    case 'DB_OPEN_FAILED':
    case 'DB_SCHEMA_TOO_NEW':
    case 'DB_SCHEMA_OLD':
    case 'CLICKHOUSE_CONFIG':
    case 'SQL_FAILED':
    case 'INTERNAL':
      return 500;
    default: {
      const never: never = code;
      return never;
    }
  }
}

/**
 * Messages from storage can quote values from the data (a conversion that failed on some property): logs get the
 * message with every quoted literal masked, so a log line never carries a person's traits.
 */
export function maskedMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text
    .split('\n')[0]!
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .slice(0, 300);
}
