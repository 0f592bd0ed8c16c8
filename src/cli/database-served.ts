import type { Command } from 'commander';
import type { ServedDatabase } from './served-database.js';

/**
 * Thrown before a command's action runs when a live `segflow serve` holds its database (nothing printed or written
 * yet): `main` catches it and runs the whole command through that server instead (run-on-server.ts). Kept apart
 * from served-database.ts so that `main` loads nothing more at start-up.
 */
export class DatabaseServed extends Error {
  constructor(readonly served: ServedDatabase) {
    super(`the database is held by segflow serve (pid ${served.pid})`);
    this.name = 'DatabaseServed';
  }
}

/**
 * Commands that never open the database (or need it closed: they refuse by themselves) run in their own process even
 * while a server holds it. Every other command goes to the server, so a command added later is forwarded unless
 * listed here.
 */
const RUN_HERE = [
  'init',
  'generate',
  'serve',
  'stats',
  'segments check',
  'playbook check',
  'privacy erase',
  // Asks the server over HTTP (its /healthz): the stream is in the server's memory, not in the database.
  'stream status',
  'help',
];

export function runsHere(action: Command): boolean {
  const names: string[] = [];
  for (let c: Command | null = action; c?.parent; c = c.parent) names.unshift(c.name());
  const path = names.join(' ');
  return RUN_HERE.some((local) => path === local || path.startsWith(`${local} `));
}
