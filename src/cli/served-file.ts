import { resolve } from 'node:path';

/**
 * The file beside a database by which `segflow serve` tells other processes that it holds it (served-database.ts
 * writes and reads it). Apart from that module so that a command can see there is none without loading its schema.
 */
export function servedFilePath(dbPath: string): string {
  return `${resolve(dbPath)}.serve.json`;
}
