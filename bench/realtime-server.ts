import { openWarehouse } from '../src/engine/open.js';
import { createApiKey } from '../src/govern/api-keys.js';
import { runCycle } from '../src/pipeline/cycle.js';
import { buildServer } from '../src/server/app.js';

/**
 * The server under test for `npm run bench -- realtime`, in its own process: the collector with its intake log, and
 * either streaming evaluation or (for the comparison) the cycle every CYCLE_MS. Prints {url, key} once it listens,
 * where key is "WRITE_KEY READ_KEY"; SIGTERM closes it.
 *
 * Usage: node --import tsx bench/realtime-server.ts DB_PATH SEGMENTS_DIR PLAYBOOK stream|cycle CYCLE_MS
 */
const [dbPath, segmentsDir, playbook, mode, cycleMs] = process.argv.slice(2);
if (!dbPath || !segmentsDir || !playbook || (mode !== 'stream' && mode !== 'cycle')) {
  process.stderr.write('usage: realtime-server.ts DB_PATH SEGMENTS_DIR PLAYBOOK stream|cycle CYCLE_MS\n');
  process.exit(2);
}
const wh = await openWarehouse({ path: dbPath });
const write = (await createApiKey(wh, 'write')).key;
const read = (await createApiKey(wh, 'read')).key;
/** Each evaluation's seconds per step, summarised on stderr at the end: where an evaluation's time goes. */
const phases = new Map<string, number[]>();
const server = await buildServer({
  warehouse: wh,
  playbook,
  segmentsDir,
  // As `segflow serve` does: decide()'s snapshot loaded before the server listens.
  warmDecide: true,
  stream:
    mode === 'stream'
      ? {
          onEvaluation: (e) => {
            for (const [name, s] of Object.entries({ ...e.phases, total: e.seconds }))
              phases.set(name, [...(phases.get(name) ?? []), s]);
          },
        }
      : false,
});
function phaseSummary(): string {
  const lines = [...phases].map(([name, xs]) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(3);
    return `  ${name.padEnd(10)} n=${s.length} p50 ${at(0.5)} s  p90 ${at(0.9)} s  max ${at(1)} s`;
  });
  return lines.length ? `evaluation steps:\n${lines.join('\n')}\n` : '';
}
let timer: NodeJS.Timeout | undefined;
if (mode === 'cycle') {
  // One turn first: a play starts from its first run, so people entering later are its triggers (as with streaming).
  await runCycle(wh, { segmentsDir, playbook });
  let busy = false;
  timer = setInterval(
    () => {
      if (busy) return;
      busy = true;
      void server.committer
        .settled()
        .then(() => runCycle(wh, { segmentsDir, playbook }))
        .catch((e: Error) => process.stderr.write(`cycle failed: ${e.message}\n`))
        .finally(() => {
          busy = false;
        });
    },
    Number(cycleMs ?? 60_000),
  );
} else {
  await server.stream!.settle();
}
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url, key: `${write} ${read}` })}\n`);
process.on('SIGTERM', () => {
  if (timer) clearInterval(timer);
  process.stderr.write(phaseSummary());
  void server.app
    .close()
    .then(() => wh.close())
    .then(() => process.exit(0));
});
