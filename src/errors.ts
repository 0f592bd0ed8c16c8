/**
 * One error type for everything segflow reports to a person: a stable code scripts can match on, a message that
 * says what was wrong, and a hint that says how to fix it. API and CLI callers see these three fields, never a stack.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'DB_OPEN_FAILED'
  | 'DB_SCHEMA_TOO_NEW'
  | 'DB_SCHEMA_OLD'
  | 'DB_LOCKED'
  | 'CLICKHOUSE_UNAVAILABLE'
  | 'CLICKHOUSE_CONFIG'
  | 'SQL_FAILED'
  | 'SQL_NOT_READ_ONLY'
  | 'IMPORT_FILE_UNREADABLE'
  | 'IMPORT_MAPPING_INVALID'
  | 'IMPORT_PRESET_UNKNOWN'
  | 'USAGE'
  | 'MODEL_DATA_INVALID'
  | 'MODEL_NO_DATA'
  | 'MODEL_FIT_FAILED'
  | 'MODEL_NOT_FITTED'
  | 'NOT_FOUND'
  | 'PATH_NOT_ALLOWED'
  | 'IDENTIFIER_AMBIGUOUS'
  | 'BACKUP_INVALID'
  | 'SERVER_RUNNING'
  | 'AUTH_MISSING'
  | 'AUTH_INVALID'
  | 'AUTH_FORBIDDEN'
  | 'BODY_INVALID'
  | 'BODY_TOO_LARGE'
  | 'BODY_TOO_DEEP'
  | 'BODY_GZIP_INVALID'
  | 'BODY_ENCODING_UNSUPPORTED'
  | 'BODY_TIMEOUT'
  | 'BATCH_TOO_LARGE'
  | 'REQUEST_INVALID'
  | 'ROUTE_NOT_FOUND'
  | 'QUEUE_FULL'
  | 'WAREHOUSE_BEHIND'
  | 'INTAKE_LOG_UNAVAILABLE'
  | 'STORAGE_FAILED'
  | 'SERVER_CLOSING'
  | 'SEGMENT_INVALID'
  | 'STATS_INPUT_INVALID'
  | 'ARMS_INVALID'
  | 'SEND_REFUSED'
  | 'INTERNAL';

export class SegflowError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SegflowError';
    this.code = code;
    this.hint = hint;
  }
  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isSegflowError(e: unknown): e is SegflowError {
  return e instanceof SegflowError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
