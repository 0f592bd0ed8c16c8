import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh directory removed when the test file ends. */
export function tempDir(prefix = 'segflow-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const CDNOW_MASTER = new URL('../fixtures/cdnow/CDNOW_master.txt', import.meta.url).pathname;
export const CDNOW_SAMPLE = new URL('../fixtures/cdnow/CDNOW_sample.txt', import.meta.url).pathname;
export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
