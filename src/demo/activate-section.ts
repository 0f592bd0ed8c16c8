import { loadPlaybook } from '../activate/playbook.js';
import { packagePath } from '../config/package-files.js';
import type { Warehouse } from '../engine/warehouse.js';
import { importFile } from '../instrument/import/import-file.js';
import { ingestMessages } from '../instrument/ingest-messages.js';
import { decide } from '../personalize/decide.js';
import type { DemoEngine } from './demo-engine.js';
import { IN_APP_PLAY, runInAppExperiment } from './in-app-experiment.js';
import { runPlayExperiment } from './play-experiment.js';

const say = (line = '') => process.stdout.write(`${line}\n`);
const n = (x: number) => x.toLocaleString('en-US');
const PLAYBOOK = packagePath('examples', 'playbooks', 'classic.yaml');

/** Personalize: what decide() says for a few people under the classic decision matrix, with its reasons. */
export async function personalizeSection(wh: Warehouse, lastEvent: Date): Promise<void> {
  const pb = loadPlaybook(PLAYBOOK);
  // Decide at 14:00 UTC on the day after the data ends: outside the playbook's quiet hours for UTC people.
  const asOf = new Date(
    Math.floor(lastEvent.getTime() / 86_400_000) * 86_400_000 + 86_400_000 + 14 * 3_600_000,
  );
  say(
    `\n4. Activate & Personalize: the classic decision matrix (examples/playbooks/classic.yaml, ${pb.plays.length} plays)`,
  );
  for (const p of pb.plays) {
    say(
      `   ${p.name.padEnd(22)} ${p.segment.padEnd(18)} → ${p.offer} (${p.channel}; ${p.trigger.on}; holdout ${p.holdout * 100}%; KPI ${p.kpi ?? '-'})`,
    );
  }
  const people = await wh.query<{ person_id: string }>(
    `SELECT person_id FROM (SELECT person_id, min(segment) AS s FROM segment_memberships
       WHERE exited_at IS NULL AND segment IN ('champion', 'recoverable', 'high-intent') GROUP BY person_id)
     ORDER BY s, person_id LIMIT 3`,
  );
  for (const { person_id } of people) {
    const d = await decide(wh, pb, person_id, { asOf });
    say(`   decide(${person_id}): ${d.play ? `${d.play.name}, variant ${d.play.variant}` : 'no play'}`);
    for (const c of d.candidates)
      say(`      ${c.eligible ? '✓' : '✗'} ${c.play}: ${c.reasons.slice(1).join('; ')}`);
  }
  say('   (consent defaults to deny: people who never opted in get no email — the reasons say so)');
  const first = people[0]?.person_id;
  if (first) {
    // The person opts in to marketing (a Segment identify with consent preferences, as a consent tool sends).
    await ingestMessages(
      wh,
      [
        {
          type: 'identify',
          userId: first,
          traits: {},
          context: { consent: { categoryPreferences: { marketing: true } } },
          timestamp: new Date(asOf.getTime() - 60_000).toISOString(),
          messageId: `demo-consent-${first}`,
        },
      ],
      { source: 'demo' },
    );
    const d = await decide(wh, pb, first, { asOf });
    say(
      `   after ${first} opts in to marketing: ${d.play ? `${d.play.name} (${d.play.offer}), variant ${d.play.variant}` : 'no play'}`,
    );
    for (const c of d.candidates)
      say(`      ${c.eligible ? '✓' : '✗'} ${c.play}: ${c.reasons.slice(1).join('; ')}`);
  }
}

/** Measure: a play with a 10 % holdout on simulated customers with a known response, and its lift report. */
export async function measureSection(events: string, engine: DemoEngine): Promise<void> {
  const wh = await engine.open('measure');
  try {
    await importFile(wh, { path: events, rejectsPath: null });
    const [span] = await wh.query<{ first: Date; last: Date }>(
      'SELECT min(ts) AS first, max(ts) AS last FROM events',
    );
    // Start the play in the middle, so the 14 days after it hold what people would have bought anyway.
    const start = new Date(
      Math.floor((span!.first.getTime() + span!.last.getTime()) / 2 / 86_400_000) * 86_400_000,
    );
    const x = await runPlayExperiment(wh, { start, windowDays: 14, uplift: 0.3, value: 50 });
    const r = x.report;
    say(
      `\n5. Measure: play spring-perks on active shoppers from ${start.toISOString().slice(0, 10)}, 10% held out`,
    );
    say(
      `   simulated customers buy $50 more with probability 0.3 when messaged: true lift +$${x.trueRevenueLift.toFixed(2)} per person`,
    );
    say(
      `   ${n(x.delivered)} webhooks delivered; ${n(x.caused)} purchases caused; arms ${r.arms.map((a) => `${a.arm} ${n(a.people)}`).join(', ')}`,
    );
    if (r.srm)
      say(
        `   sample ratio check: χ² ${r.srm.chiSquare.toFixed(2)}, p ${r.srm.pValue.toFixed(3)} — ${r.srm.flagged ? 'MISMATCH' : 'ok'}`,
      );
    for (const row of r.rows) {
      if (!row.lift) continue;
      const est = (row.cuped ?? row.lift).absolute;
      const rel = (row.cuped ?? row.lift).relative;
      say(
        `   ${row.kpi.padEnd(20)} holdout ${row.lift.control.mean.toFixed(3)} vs treated ${row.lift.treatment.mean.toFixed(3)}: ` +
          `lift ${est.estimate >= 0 ? '+' : ''}${est.estimate.toFixed(3)} [95% CI ${est.ci.lower.toFixed(3)}, ${est.ci.upper.toFixed(3)}], ` +
          `${rel ? `${(100 * rel.estimate).toFixed(1)}%, ` : ''}p ${est.pValue.toFixed(4)}${row.cuped ? ' (CUPED)' : ''}`,
      );
    }
    const revenue = r.rows.find((x2) => x2.kpi === 'revenue_per_person')?.cuped?.absolute;
    if (revenue) {
      const inside = revenue.ci.lower <= x.trueRevenueLift && x.trueRevenueLift <= revenue.ci.upper;
      say(
        `   the true +$${x.trueRevenueLift.toFixed(2)} is ${inside ? 'inside' : 'OUTSIDE'} the revenue interval`,
      );
    }
    await inAppSection(wh, start);
  } finally {
    await wh.close();
  }
}

/** Measure an in-app play: decide() records exposures as it serves the banner (or holds it back), and the lift. */
async function inAppSection(wh: Warehouse, start: Date): Promise<void> {
  const x = await runInAppExperiment(wh, { start, windowDays: 14, uplift: 0.3, value: 40 });
  const r = x.report;
  say(
    `\n   In-app play ${IN_APP_PLAY} (no destination: decide() serves it), 10% held out, from the same day`,
  );
  say(
    `   simulated customers shown the banner buy $40 more with probability 0.3: true lift +$${x.trueRevenueLift.toFixed(2)} per person`,
  );
  say(
    `   ${n(x.decisions)} decide() calls over 7 days → ${n(x.exposures)} exposures (one per person); ${n(x.served)} shown the banner; arms ${r.arms.map((a) => `${a.arm} ${n(a.people)}`).join(', ')}`,
  );
  if (r.srm)
    say(
      `   sample ratio check: χ² ${r.srm.chiSquare.toFixed(2)}, p ${r.srm.pValue.toFixed(3)} — ${r.srm.flagged ? 'MISMATCH' : 'ok'}`,
    );
  const revenue = r.rows.find((row) => row.kpi === 'revenue_per_person');
  const est = (revenue?.cuped ?? revenue?.lift)?.absolute;
  if (est) {
    const inside = est.ci.lower <= x.trueRevenueLift && x.trueRevenueLift <= est.ci.upper;
    say(
      `   revenue_per_person lift ${est.estimate >= 0 ? '+' : ''}${est.estimate.toFixed(2)} [95% CI ${est.ci.lower.toFixed(2)}, ${est.ci.upper.toFixed(2)}]${revenue?.cuped ? ' (CUPED)' : ''}: the true +$${x.trueRevenueLift.toFixed(2)} is ${inside ? 'inside' : 'OUTSIDE'}`,
    );
  }
}
