import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import { CANARY, type Shop, startShop } from './shop.js';

/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) over a generated shop: the marketer's
 * and the admin's journeys, a read key that cannot act, XSS canaries shown as text, axe-core on every page, and a
 * screenshot of every page at 1440×900 — into a temporary folder, or into docs/screenshots/ with
 * SEGFLOW_SCREENSHOTS=1 (so a test run does not rewrite the committed pictures).
 */
const CHROMIUM = process.env.SEGFLOW_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = new URL('../../', import.meta.url).pathname;
const SHOTS =
  process.env.SEGFLOW_SCREENSHOTS === '1'
    ? join(ROOT, 'docs', 'screenshots')
    : mkdtempSync(join(tmpdir(), 'segflow-screenshots-'));
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const skip = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM}: install it (apt-get install chromium)`;
if (skip) console.log(`# browser tests skipped: ${skip}`);

/** Whether dist/ui was built after the last change to any file under ui/. */
function builtIsCurrent(): boolean {
  const built = join(ROOT, 'dist', 'ui', 'index.html');
  if (!existsSync(built)) return false;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  return statSync(built).mtimeMs >= newest(join(ROOT, 'ui'));
}

describe('the dashboard in a browser', { skip }, () => {
  let shop: Shop;
  let context: BrowserContext;
  // Made and removed here: the shop's folder (database, segments, playbook) must outlive every test of the suite.
  const dirs = [
    mkdtempSync(join(tmpdir(), 'segflow-ui-shop-')),
    mkdtempSync(join(tmpdir(), 'segflow-chromium-')),
  ];
  /** Every alert/prompt a page opened: an XSS canary firing (confirm dialogs are the app's own). */
  const alerts: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    // The front end is built by `npm run build` (npm install runs it); build it here if missing or older than ui/.
    if (!builtIsCurrent()) {
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'ui/vite.config.ts'],
        {
          cwd: ROOT,
          stdio: 'inherit',
        },
      );
    }
    shop = await startShop(dirs[0]!, { people: 300, days: 120 });
    mkdirSync(SHOTS, { recursive: true });
    context = await chromium.launchPersistentContext(dirs[1]!, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await context?.close();
    await shop?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (process.env.SEGFLOW_SCREENSHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true });
  });

  async function newPage(): Promise<Page> {
    const page = await context.newPage();
    page.on('dialog', (d) => {
      if (d.type() === 'confirm') void d.accept();
      else {
        alerts.push(`${d.type()}: ${d.message()}`);
        void d.dismiss();
      }
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return page;
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await context.clearCookies();
    await page.goto(shop.server.url);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  }

  /** axe-core on the page as it is: no serious or critical violation. */
  async function accessible(page: Page, name: string): Promise<void> {
    await page.evaluate(AXE);
    const violations = (await page.evaluate(async () => {
      const r = await (
        window as unknown as { axe: { run: () => Promise<{ violations: unknown[] }> } }
      ).axe.run();
      return r.violations;
    })) as { id: string; impact: string; nodes: { target: string[] }[] }[];
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      `axe on ${name}`,
    );
  }

  async function visit(page: Page, hash: string, heading: string | RegExp, shot: string): Promise<void> {
    await page.goto(`${shop.server.url}/${hash}`);
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await page.screenshot({ path: join(SHOTS, `${shot}.png`) });
    await accessible(page, shot);
  }

  /** Open a chart's table view, as a screen-reader user or anyone after the numbers would. */
  async function openTable(page: Page, chart: string | RegExp): Promise<void> {
    const figure = page
      .locator('figure.chart')
      .filter({ has: page.locator('figcaption', { hasText: chart }) });
    await figure.locator('summary').click();
  }

  const api = async (path: string, key: string, init: RequestInit = {}) =>
    fetch(`${shop.server.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
    });

  test('the sign-in page is accessible; a write key is refused there', async () => {
    const page = await newPage();
    await context.clearCookies();
    await page.goto(shop.server.url);
    await page.getByLabel('API key').waitFor();
    await page.screenshot({ path: join(SHOTS, 'sign-in.png') });
    await accessible(page, 'sign-in');
    await page.getByLabel('API key').fill(shop.keys.write);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'write key' }).waitFor();
    await page.close();
  });

  test('a link followed the moment the pages appear after sign-in is honoured', async () => {
    // The pages mount on sign-in and listen for hash changes from an effect, which runs after paint. A hash changed in
    // between (here: in the same task as the first render, as a fast click or a test's goto can) must not be lost.
    const page = await newPage();
    await context.clearCookies();
    await page.goto(shop.server.url);
    await page.getByLabel('API key').fill(shop.keys.read);
    await page.evaluate(`new Promise((resolve) => {
      const seen = new MutationObserver(() => {
        if (!document.querySelector('h1') || document.querySelector('h1').textContent !== 'Overview') return;
        seen.disconnect();
        location.hash = '#/people/' + encodeURIComponent(${JSON.stringify(CANARY.userId)});
        resolve();
      });
      seen.observe(document.body, { childList: true, subtree: true, characterData: true });
      document.querySelector('form button[type=submit], form button').click();
    })`);
    await page.getByRole('heading', { name: CANARY.userId, level: 1 }).waitFor({ timeout: 10_000 });
    await page.close();
  });

  test('a marketer reads the RFM grid, builds, saves and refreshes a segment, opens a lift report, looks a person up', async () => {
    const page = await newPage();
    await signIn(page, shop.keys.admin);
    await visit(page, '#/overview', 'Overview', 'overview');

    // The RFM grid: open the fullest cell; its people are listed.
    await visit(page, '#/behaviour', 'Behaviour', 'behaviour');
    const rfm = (await (await api('/api/v1/reports/rfm', shop.keys.read)).json()) as {
      cells: { r: number; f: number; customers: number }[];
    };
    const fullest = [...rfm.cells].sort((a, b) => b.customers - a.customers)[0]!;
    await page.locator(`rect[data-cell="${fullest.r}-${fullest.f}"]`).click();
    await page
      .getByRole('heading', { name: `People with recency ${fullest.r} and frequency ${fullest.f}` })
      .waitFor();
    await page.getByText(`${fullest.customers.toLocaleString('en-US')} people in this cell`).waitFor();
    assert.ok((await page.locator('section[aria-labelledby="cell-title"] tbody tr').count()) > 0);
    await page.screenshot({ path: join(SHOTS, 'behaviour-cell.png') });

    // The builder: the size estimate follows the conditions.
    await visit(page, '#/segments/new', 'Segment builder', 'segment-builder');
    await page.getByLabel('Name', { exact: true }).fill('repeat-buyers');
    await page.getByLabel('Label', { exact: true }).fill('Repeat buyers');
    const sizeFor = async (atLeast: string): Promise<number> => {
      await page.locator('input[data-field="within"]').fill('3650d');
      await page.locator('input[data-field="atLeast"]').fill(atLeast);
      // Wait for the estimate of exactly this YAML (the server is asked a moment after each edit).
      const yaml = await page.getByLabel(/YAML/).inputValue();
      const want = (await (
        await api('/api/v1/segments/drafts/estimate', shop.keys.read, {
          method: 'POST',
          body: JSON.stringify({ yaml }),
        })
      ).json()) as { size: number };
      await page.waitForFunction(
        (n) => document.querySelector('[data-testid="estimate"]')?.textContent === n,
        want.size.toLocaleString('en-US'),
      );
      return want.size;
    };
    const once = await sizeFor('1');
    const twice = await sizeFor('2');
    assert.ok(
      once > twice && twice > 0,
      `at least once (${once}) must hold more people than at least twice (${twice})`,
    );
    assert.match(await page.getByLabel(/YAML/).inputValue(), /atLeast: 2/);
    await page.getByText('Valid.').waitFor();
    await page.screenshot({ path: join(SHOTS, 'segment-builder-filled.png') });
    await page.getByRole('button', { name: 'Save segment file' }).click();
    await page.getByText('Saved repeat-buyers').waitFor();
    assert.match(readFileSync(join(shop.segmentsDir, 'repeat-buyers.yaml'), 'utf8'), /atLeast: 2/);

    // A refresh puts it in the list with its size.
    await visit(page, '#/segments', 'Segments', 'segments');
    await page.getByRole('button', { name: 'Run a refresh' }).click();
    await page.getByText('Refreshed.').waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Repeat buyers' }) });
    await row.waitFor();
    assert.match(
      (await row.textContent()) ?? '',
      new RegExp(`repeat-buyers.*${twice.toLocaleString('en-US')}`),
    );
    await page.getByRole('link', { name: 'Repeat buyers' }).click();
    await page.getByRole('heading', { name: 'Repeat buyers', level: 1 }).waitFor();
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await page.screenshot({ path: join(SHOTS, 'segment.png') });
    await accessible(page, 'segment');

    // A play's lift report.
    await visit(page, '#/plays', 'Plays', 'plays');
    await page.getByRole('link', { name: 'spring-perks' }).click();
    await page.getByRole('heading', { name: 'Lift: spring-perks' }).waitFor();
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await page.getByText('Relative lift per KPI with its 95% interval').waitFor();
    // Each KPI's interval is read from the report (the chart draws the same numbers as its lines).
    const intervals = await page
      .locator('table:has(caption:text("Lift per KPI and segment")) tbody tr td:nth-child(4)')
      .allTextContents();
    assert.ok(intervals.length > 0);
    for (const interval of intervals) assert.match(interval, /\d%.* to .*\d%/);
    await page.screenshot({ path: join(SHOTS, 'lift.png') });
    await accessible(page, 'lift');

    // A person by email, and decide()'s reasons as the API gives them.
    const [someone] = await shop.wh.query<{ person_id: string; email: string }>(
      `SELECT person_id, json_extract_string(traits, '$.email') AS email FROM persons
       WHERE json_extract_string(traits, '$.email') IS NOT NULL AND person_id <> ? ORDER BY event_count DESC LIMIT 1`,
      [CANARY.userId],
    );
    await visit(page, '#/people', 'People', 'people-search');
    await page.getByLabel('Identifier or email').fill(someone!.email.toUpperCase());
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('link', { name: someone!.person_id }).click();
    await page.getByRole('heading', { name: someone!.person_id, level: 1 }).waitFor();
    await page.getByText('Every play considered, with its reasons').waitFor();
    const decision = (await (
      await api(`/api/v1/decide/${encodeURIComponent(someone!.person_id)}`, shop.keys.read)
    ).json()) as {
      candidates: { reasons: string[] }[];
    };
    const reasons = decision.candidates.flatMap((c) => c.reasons);
    assert.ok(reasons.length > 0);
    const shown = await page.locator('ul.reasons li').allTextContents();
    assert.deepEqual(shown, reasons);
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await page.screenshot({ path: join(SHOTS, 'person.png') });
    await accessible(page, 'person');
    await visit(page, '#/models', 'Models', 'models');
    await page.close();
  });

  test('the page parts: collector health, lifecycle trend, funnels, sparklines, overlap, export, nested builder, deliveries, distributions, timeline', async () => {
    const page = await newPage();
    await signIn(page, shop.keys.admin);
    const json = async <T>(path: string): Promise<T> => (await (await api(path, shop.keys.read)).json()) as T;

    // Collector health: an event sent to the collector now is counted since the server started.
    const sent = await fetch(`${shop.server.url}/v1/track`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${shop.keys.write}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ userId: 'health-check-user', event: 'Page Viewed', messageId: 'health-1' }),
    });
    assert.equal(sent.status, 200, await sent.text());
    await visit(page, '#/overview', 'Overview', 'overview');
    const health = await json<{
      status: string;
      sinceStart: { accepted: number };
      queue: { backlogEvents: number };
    }>('/api/v1/collector/health');
    assert.equal(health.status, 'ok');
    assert.ok(health.sinceStart.accepted >= 1);
    await page.getByTestId('collector-status').filter({ hasText: 'Collecting' }).waitFor();
    const stats = page.getByRole('region', { name: 'Collector figures' });
    assert.match(
      (await stats.textContent()) ?? '',
      new RegExp(`Since the server started${health.sinceStart.accepted.toLocaleString('en-US')}accepted`),
    );
    assert.match((await stats.textContent()) ?? '', new RegExp(`Backlog${health.queue.backlogEvents}`));

    // Lifecycle stages across refreshes, and a funnel split by a feature.
    await visit(page, '#/behaviour', 'Behaviour', 'behaviour');
    const lifecycle = await json<{ trend: { stage: string; people: number }[]; tiers: unknown[] }>(
      '/api/v1/reports/lifecycle',
    );
    assert.ok(lifecycle.trend.length > 0 && lifecycle.tiers.length > 0);
    await page
      .getByRole('img', { name: 'People per lifecycle stage across refreshes', exact: true })
      .waitFor();
    await openTable(page, 'People per lifecycle stage across refreshes');
    const stageRows = page
      .getByRole('region', { name: 'People per lifecycle stage at each refresh' })
      .locator('tbody tr');
    assert.equal(await stageRows.count(), lifecycle.trend.length);
    const funnel = await json<{ rows: { steps: { people: number }[] }[] }>(
      '/api/v1/reports/funnel?name=purchase',
    );
    const started = funnel.rows[0]!.steps[0]!.people;
    assert.ok(started > 0);
    await openTable(page, /^Funnel purchase/);
    const funnelTable = page.getByRole('region', { name: /People per step, conversion/ });
    await funnelTable.locator('tbody tr').first().waitFor();
    assert.equal(
      (await funnelTable.locator('tbody tr').first().locator('td').nth(1).textContent()) ?? '',
      started.toLocaleString('en-US'),
    );
    await page.getByLabel('Split by').selectOption('rfm.group');
    await funnelTable.getByRole('columnheader', { name: 'rfm.group' }).waitFor();
    const split = await json<{ rows: { segment: string | null }[] }>(
      '/api/v1/reports/funnel?name=purchase&by=rfm.group',
    );
    assert.ok(split.rows.length > 1);
    const group = split.rows.find((r) => r.segment !== null)!.segment!;
    await funnelTable.getByRole('cell', { name: group, exact: true }).first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'behaviour-funnel.png'), fullPage: true });
    await accessible(page, 'behaviour with a split funnel');

    // Sparklines in the list: one per segment that has sizes at past refreshes.
    await visit(page, '#/segments', 'Segments', 'segments');
    const report = await json<{
      segments: { name: string; size: number; trend: unknown[] }[];
      overlap: { a: string; b: string; both: number }[];
    }>('/api/v1/segments/report');
    const withTrend = report.segments.filter((x) => x.trend.length > 0);
    assert.ok(withTrend.length > 0);
    assert.equal(await page.locator('[data-sparkline] svg').count(), withTrend.length);

    // A segment's page: entries and exits, the overlap heat map, and an audience export.
    await visit(page, '#/segments/champion', /Champion/i, 'segment-champion');
    await page.locator('[data-overlap]').waitFor();
    assert.equal(
      Number(await page.locator('[data-overlap]').getAttribute('data-overlap')),
      report.segments.length ** 2,
    );
    const pair = report.overlap.find((o) => o.a === 'champion' || o.b === 'champion')!;
    const other = pair.a === 'champion' ? pair.b : pair.a;
    await openTable(page, /^Overlap/);
    const overlapTable = page.getByRole('region', { name: 'Members of champion also in each other segment' });
    const otherRow = overlapTable
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: other, exact: true }) });
    assert.match(
      (await otherRow.textContent()) ?? '',
      new RegExp(`^${other}${pair.both.toLocaleString('en-US')}`),
    );
    const champion = report.segments.find((x) => x.name === 'champion')!;
    await page.getByRole('button', { name: 'Export CSV' }).click();
    await page.getByText(`Exported ${champion.size.toLocaleString('en-US')} people to`).waitFor();
    const exports = await json<{ exports: { segment: string; path: string; rows: number }[] }>(
      '/api/v1/audiences',
    );
    const written = exports.exports.find((x) => x.segment === 'champion')!;
    assert.equal(readFileSync(written.path, 'utf8').trim().split('\n').length, champion.size + 1);
    await page
      .getByRole('region', { name: /Audience files written/ })
      .getByRole('cell', { name: 'csv', exact: true })
      .waitFor();

    // A play's deliveries over time, and a dead letter retried.
    await visit(page, '#/plays/vip-hook', 'Lift: vip-hook', 'play-deliveries');
    await page.getByRole('img', { name: 'Deliveries per day by status', exact: true }).waitFor();
    const dead = await json<{ deliveries: { id: number }[] }>('/api/v1/deliveries?play=vip-hook&status=dead');
    assert.ok(dead.deliveries.length > 0, 'the webhook nobody listens to leaves dead deliveries');
    const first = dead.deliveries[0]!.id;
    await page.getByRole('button', { name: `Retry delivery ${first}` }).click();
    await page.getByText('Queued 1 again.').waitFor();
    const after = await json<{ deliveries: { id: number; status: string }[] }>(
      '/api/v1/deliveries?play=vip-hook&limit=1000',
    );
    assert.equal(after.deliveries.find((x) => x.id === first)!.status, 'pending');
    await page.getByRole('button', { name: `Retry delivery ${first}` }).waitFor({ state: 'detached' });

    // The builder nests conditions: buyers in 30 days who neither viewed a product then nor are champions.
    await visit(page, '#/segments/new', 'Segment builder', 'segment-builder-nested');
    await page.getByLabel('Name', { exact: true }).fill('nested-draft');
    await page.getByRole('button', { name: 'Add a condition', exact: true }).click();
    await page.locator('#cond-1-kind').selectOption('not'); // the second condition becomes a none-of group
    await page.locator('#cond-1-0-0-value').fill('Product Viewed');
    await page.getByRole('button', { name: 'Add a condition to group 2' }).click();
    await page.locator('#cond-1-1-kind').selectOption('inSegment');
    await page.locator('#cond-1-1-value').fill('champion');
    const nestedYaml = await page.getByLabel(/YAML/).inputValue();
    assert.deepEqual((parseYaml(nestedYaml) as { where: unknown }).where, {
      and: [
        { performed: { event: 'Order Completed', atLeast: 1, within: '30d' } },
        {
          not: {
            or: [
              { performed: { event: 'Product Viewed', atLeast: 1, within: '30d' } },
              { inSegment: 'champion' },
            ],
          },
        },
      ],
    });
    const nested = (await (
      await api('/api/v1/segments/drafts/estimate', shop.keys.read, {
        method: 'POST',
        body: JSON.stringify({ yaml: nestedYaml }),
      })
    ).json()) as { size: number };
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid="estimate"]')?.textContent === n,
      nested.size.toLocaleString('en-US'),
    );
    // Edited as YAML, the nesting stays in the form: a third level shows as condition 2.2.1.
    await page
      .getByLabel(/YAML/)
      .fill(
        nestedYaml.replace(
          '- inSegment: champion',
          '- and:\n              - inSegment: champion\n              - inSegment: win-back',
        ),
      );
    await page.locator('fieldset[data-condition="1-1-1"]').waitFor();
    assert.equal(await page.locator('#cond-1-1-1-value').inputValue(), 'win-back');
    assert.equal(await page.locator('form[aria-label="Segment form"] > fieldset').isDisabled(), false);
    await page.screenshot({ path: join(SHOTS, 'segment-builder-nested.png'), fullPage: true });
    await accessible(page, 'the builder with nested groups');

    // The models: P(alive) and CLV spread over the scored customers.
    await visit(page, '#/models', 'Models', 'models');
    const dist = await json<{ people: number; pAlive: { people: number }[]; clv: { people: number }[] }>(
      '/api/v1/models/predictions/distribution',
    );
    assert.ok(dist.people > 0);
    assert.equal(
      dist.pAlive.reduce((n, b) => n + b.people, 0),
      dist.people,
      'every scored customer is in one P(alive) bin',
    );
    await page.getByRole('img', { name: 'Customers by P(alive)', exact: true }).waitFor();
    await page.getByRole('img', { name: 'Customers by lifetime value', exact: true }).waitFor();
    await page.getByText(`${dist.people.toLocaleString('en-US')} customers scored`).waitFor();
    await openTable(page, 'Customers by P(alive)');
    const binRows = page.getByRole('region', { name: /^Customers by P\(alive\)/ }).locator('tbody tr');
    assert.equal(await binRows.count(), 20);

    // A person's timeline, a page at a time, with properties.
    const [busy] = await shop.wh.query<{ person_id: string; n: bigint }>(
      'SELECT person_id, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
    );
    const total = Number(busy!.n);
    assert.ok(total > 25, 'the busiest person has more than a page of events');
    await visit(page, `#/people/${encodeURIComponent(busy!.person_id)}`, busy!.person_id, 'person-timeline');
    await page.getByText(`Events 1–25 of ${total.toLocaleString('en-US')}`).waitFor();
    const timeline = await json<{ events: { messageId: string; properties: Record<string, unknown> }[] }>(
      `/api/v1/persons/${encodeURIComponent(busy!.person_id)}/events?page=1&pageSize=25`,
    );
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByText(`Events 26–${Math.min(50, total)} of`).waitFor();
    // The second page's first event with properties shows them as `key: value` text.
    const withProps = timeline.events.find((e) => Object.keys(e.properties).length > 0);
    assert.ok(withProps, 'generated events carry properties');
    const shown = Object.entries(withProps.properties)
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(', ');
    await page.getByRole('cell', { name: shown, exact: true }).first().waitFor();
    await page.close();
  });

  test("the models' backtests and clusters, a segment's change log, a person's scores, deliveries and export", async () => {
    const page = await newPage();
    await signIn(page, shop.keys.admin);
    const json = async <T>(path: string): Promise<T> => (await (await api(path, shop.keys.read)).json()) as T;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    /** The cells of a table view, row by row, as text. */
    const cells = async (caption: string | RegExp) =>
      page
        .getByRole('region', { name: caption })
        .locator('tbody tr')
        .evaluateAll((rows) =>
          rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')),
        );

    // The churn model's backtest: its summary, ROC curve, calibration and lift by decile, as the stored fit says.
    await visit(page, '#/models', 'Models', 'models');
    const churn = await json<{
      diagnostics: {
        backtest: {
          people: number;
          baseRate: number;
          auc: number;
          topDecileLift: number;
          calibration: { decile: number; people: number; meanPredicted: number; observedRate: number }[];
          roc: { falsePositiveRate: number; truePositiveRate: number }[];
        };
      };
    }>('/api/v1/models/churn');
    const b = churn.diagnostics.backtest;
    assert.ok(b.people > 0 && b.roc.length > 2, 'the shop has a churn backtest with a curve');
    const summary = (await page.getByTestId('backtest-churn-summary').textContent()) ?? '';
    assert.match(summary, new RegExp(`Backtest on ${b.people.toLocaleString('en-US')} people`));
    assert.match(summary, new RegExp(`AUC ${b.auc.toFixed(3)}`));
    await page.getByRole('img', { name: 'Churn: ROC curve', exact: true }).waitFor();
    await page.getByRole('img', { name: 'People per cluster', exact: true }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'models-backtest.png'), fullPage: true });
    await openTable(page, 'Churn: ROC curve');
    assert.deepEqual(
      await cells(/^Churn: ROC curve points/),
      b.roc.map((q) => [pct(q.falsePositiveRate), pct(q.truePositiveRate)]),
    );
    await openTable(page, 'Churn: calibration by decile');
    assert.deepEqual(
      await cells('Churn: predicted against observed rate per decile'),
      b.calibration.map((c) => [
        String(c.decile),
        c.people.toLocaleString('en-US'),
        pct(c.meanPredicted),
        pct(c.observedRate),
      ]),
    );
    await openTable(page, 'Churn: lift by decile');
    const lift = await cells(/^Churn: lift per decile/);
    assert.equal(lift.length, 10);
    assert.equal(lift[0]![2], `${b.topDecileLift.toFixed(2)}×`, 'decile 1 is the top-decile lift');
    for (const [i, c] of b.calibration.entries())
      assert.equal(lift[i]![2], `${(c.observedRate / b.baseRate).toFixed(2)}×`);

    // Clusters: sizes as the people assigned to each (person_scores), centroids as fitted.
    const clusters = await json<{
      params: {
        clusters: {
          id: number;
          label: string;
          size: number;
          centroid: Record<string, number>;
          standardized: Record<string, number>;
        }[];
      };
    }>('/api/v1/models/clusters');
    const assigned = await shop.wh.query<{ id: number; people: bigint }>(
      `SELECT value AS id, count(*) AS people FROM person_scores WHERE score = 'cluster'
       AND as_of = (SELECT max(as_of) FROM person_scores WHERE score = 'cluster') GROUP BY 1`,
    );
    const assignedBy = new Map(assigned.map((a) => [Number(a.id), Number(a.people)]));
    await page.getByRole('img', { name: 'People per cluster', exact: true }).waitFor();
    await page
      .getByRole('img', { name: 'Cluster centroids: standard deviations from the mean', exact: true })
      .waitFor();
    await openTable(page, 'People per cluster');
    const sizes = await cells(/^Clusters: size, share and centroid/);
    assert.equal(sizes.length, clusters.params.clusters.length);
    for (const [i, c] of clusters.params.clusters.entries()) {
      assert.equal(sizes[i]![0], `${c.id}: ${c.label || 'average'}`);
      assert.equal(sizes[i]![1], assignedBy.get(c.id)!.toLocaleString('en-US'));
      assert.deepEqual(
        sizes[i]!.slice(3),
        Object.values(c.centroid).map((v) => v.toFixed(2)),
      );
    }
    await openTable(page, 'Cluster centroids: standard deviations from the mean');
    assert.deepEqual(
      (await cells(/^Cluster centroids in standard deviations/)).map((r) => r.slice(1)),
      clusters.params.clusters.map((c) => Object.values(c.standardized).map((v) => v.toFixed(2))),
    );
    await accessible(page, 'models with the table views open');

    // Every number links to the people behind it: a cluster's size, an RFM group's buyers and a tier's people open
    // the builder on that one condition, whose size estimate is the same number.
    const estimateShows = async (n: number) => {
      await page.getByRole('heading', { name: 'Segment builder', level: 1 }).waitFor();
      await page.waitForFunction(
        (want) => document.querySelector('[data-testid="estimate"]')?.textContent === want,
        n.toLocaleString('en-US'),
      );
    };
    const biggest = [...clusters.params.clusters].sort((x, y) => y.size - x.size)[0]!;
    await page
      .getByRole('region', { name: /^Clusters: size, share and centroid/ })
      .getByRole('link', { name: biggest.size.toLocaleString('en-US'), exact: true })
      .click();
    await estimateShows(assignedBy.get(biggest.id)!);
    assert.deepEqual((parseYaml(await page.getByLabel(/YAML/).inputValue()) as { where: unknown }).where, {
      feature: 'cluster.id',
      equals: biggest.id,
    });
    await visit(page, '#/behaviour', 'Behaviour', 'behaviour');
    const rfm = await json<{ groups: { group: string; customers: number }[] }>('/api/v1/reports/rfm');
    const group = rfm.groups.find((g) => g.customers > 0)!;
    await page
      .getByRole('region', { name: 'The named RFM groups' })
      .getByRole('row')
      .filter({ has: page.getByRole('cell', { name: group.group, exact: true }) })
      .getByRole('link')
      .click();
    await estimateShows(group.customers);
    await visit(page, '#/behaviour', 'Behaviour', 'behaviour');
    const { tiers } = await json<{ tiers: { feature: string; tier: string; people: number }[] }>(
      '/api/v1/reports/lifecycle',
    );
    const tier = tiers.find((t) => t.people > 0)!;
    await page
      .getByRole('region', { name: /^Engagement, intent and adoption tiers/ })
      .getByRole('row')
      .filter({ has: page.getByRole('cell', { name: tier.feature, exact: true }) })
      .filter({ has: page.getByRole('cell', { name: tier.tier, exact: true }) })
      .getByRole('link')
      .click();
    await estimateShows(tier.people);

    // A segment's change log: the audit entries about it, as the route gives them, in words.
    const CHANGE_WORDS: Record<string, string> = {
      'segment.create': 'Defined',
      'segment.change': 'Definition changed',
      'segment.file.create': 'File written from the dashboard',
      'segment.file.change': 'File changed from the dashboard',
      'segment.retire': 'Retired',
    };
    // The canary segment's file saved again, unchanged, from the dashboard: a second entry, newest first.
    const saved = await api('/api/v1/segments/drafts/save', shop.keys.admin, {
      method: 'POST',
      body: JSON.stringify({ yaml: readFileSync(join(shop.segmentsDir, 'canary.yaml'), 'utf8') }),
    });
    assert.equal(saved.status, 201, await saved.text());
    await visit(page, '#/segments/canary', CANARY.label, 'segment-changes');
    const changes = await json<{ changes: { action: string; actor: string; detail: string | null }[] }>(
      '/api/v1/segments/canary/changes',
    );
    assert.deepEqual(
      changes.changes.map((c) => c.action),
      ['segment.file.change', 'segment.create'],
    );
    const log = await cells('Changes to this segment, newest first');
    assert.deepEqual(
      log.map((r) => [r[1], r[2]]),
      changes.changes.map((c) => [CHANGE_WORDS[c.action], c.actor]),
    );
    assert.equal(log[0]![4], `file: ${JSON.parse(changes.changes[0]!.detail!).file}`);
    assert.equal(log[1]![4], `version: ${JSON.parse(changes.changes[1]!.detail!).version}`);

    // A person with deliveries: scores, deliveries, and an export downloaded as a file.
    const [target] = await shop.wh.query<{ person_id: string; n: bigint }>(
      `SELECT d.person_id, count(*) AS n FROM deliveries d
       WHERE d.person_id IN (SELECT person_id FROM person_scores WHERE score = 'cluster')
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
    );
    assert.ok(target, 'a clustered person has deliveries');
    const id = target.person_id;
    await visit(page, `#/people/${encodeURIComponent(id)}`, id, 'person-scores');
    const scores = await json<{
      predictions: Record<string, unknown> | null;
      scores: { score: string; label: string | null }[];
    }>(`/api/v1/persons/${encodeURIComponent(id)}/scores`);
    const shownScores = await cells('Model scores, each from its latest scoring');
    assert.deepEqual(
      shownScores.map((r) => [r[0], r[2]]),
      scores.scores.map((x) => [x.score, x.label ?? '—']),
    );
    assert.ok(shownScores.some((r) => r[0] === 'cluster'));
    if (scores.predictions && typeof scores.predictions.p_alive === 'number') {
      const pAlive = (await cells('Predictions (BG/NBD and Gamma-Gamma)')).find((r) => r[0] === 'p_alive');
      assert.equal(pAlive?.[1], scores.predictions.p_alive.toFixed(3));
    }
    const deliveries = await json<{ deliveries: { play: string; status: string }[] }>(
      `/api/v1/deliveries?personId=${encodeURIComponent(id)}&limit=50`,
    );
    assert.equal(deliveries.deliveries.length, Math.min(50, Number(target.n)));
    assert.deepEqual(
      (await cells(/^Deliveries to this person/)).map((r) => [r[0], r[3]]),
      deliveries.deliveries.map((d) => [d.play, d.status]),
    );
    await page.getByRole('button', { name: 'Export data' }).click();
    const link = page.getByRole('link', { name: /^Download segflow-export-/ });
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as {
      person_id: string;
      events: unknown[];
    };
    assert.equal(exported.person_id, id);
    const [events] = await shop.wh.query<{ n: bigint }>(
      'SELECT count(*) AS n FROM person_events WHERE person_id = ?',
      [id],
    );
    assert.equal(exported.events.length, Number(events!.n));
    await page.getByText(`Export ready (${Number(events!.n).toLocaleString('en-US')} events)`).waitFor();
    await accessible(page, 'a person with scores, deliveries and an export');
    await page.close();
  });

  test('an admin creates and revokes a key, deletes a person and applies the segment review', async () => {
    const page = await newPage();
    await signIn(page, shop.keys.admin);
    await visit(page, '#/govern', 'Govern', 'govern');

    await page.getByLabel('Role').selectOption('read');
    await page.getByLabel('Name', { exact: true }).fill('temporary');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key').textContent())!;
    assert.equal((await api('/api/v1/segments', key)).status, 200);
    await page.getByRole('button', { name: 'Revoke temporary' }).click();
    await page.getByRole('button', { name: 'Revoke temporary' }).waitFor({ state: 'detached' });
    assert.equal((await api('/api/v1/segments', key)).status, 401);

    const review = page.getByRole('button', { name: 'Retire nobody' });
    await review.click();
    await page.getByText('Retired nobody.').waitFor();
    const segs = (await (await api('/api/v1/segments', shop.keys.read)).json()) as {
      segments: { name: string }[];
    };
    assert.ok(!segs.segments.some((s) => s.name === 'nobody'));

    const [victim] = await shop.wh.query<{ person_id: string }>(
      'SELECT person_id FROM persons WHERE identified AND person_id <> ? ORDER BY person_id DESC LIMIT 1',
      [CANARY.userId],
    );
    await page.goto(`${shop.server.url}/#/people/${encodeURIComponent(victim!.person_id)}`);
    await page.getByRole('button', { name: 'Delete person' }).click();
    await page.getByText('Deleted.').waitFor();
    assert.equal(
      (await api(`/api/v1/persons/${encodeURIComponent(victim!.person_id)}`, shop.keys.read)).status,
      404,
    );
    // The deletion is listed among the privacy requests, pending until the erasure reaches the file.
    await visit(page, '#/govern', 'Govern', 'govern-privacy');
    const requests = page.getByRole('region', { name: 'Privacy requests, newest first' });
    await requests.getByRole('cell', { name: 'delete', exact: true }).first().waitFor();
    await requests.getByRole('cell', { name: 'pending', exact: true }).first().waitFor();
    await page.getByText('No retention window is configured').waitFor();
    await page.close();
  });

  test('a read key sees no action and the API refuses its changes', async () => {
    const page = await newPage();
    await signIn(page, shop.keys.read);
    await visit(page, '#/segments', 'Segments', 'segments-read');
    assert.equal(await page.getByRole('button', { name: 'Run a refresh' }).count(), 0);
    await visit(page, '#/segments/new', 'Segment builder', 'segment-builder-read');
    assert.equal(await page.getByRole('button', { name: 'Save segment file' }).count(), 0);
    await visit(page, '#/govern', 'Govern', 'govern-read');
    assert.equal(await page.getByRole('button', { name: /Create key|Retire|Revoke/ }).count(), 0);
    await page.goto(`${shop.server.url}/#/people/${encodeURIComponent(CANARY.userId)}`);
    await page.getByRole('heading', { name: CANARY.userId, level: 1 }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Delete|Suppress|Export/ }).count(), 0);
    // The session itself, with its CSRF token, cannot act either.
    // (A string, not a function: the test runner's compiler would add helpers the page does not have.)
    const statuses = await page.evaluate(`(async () => {
      const s = await (await fetch('/dashboard/api/session')).json();
      const post = (path, body) => fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
        body: JSON.stringify(body),
      }).then((r) => r.status);
      return [
        await post('/api/v1/refresh', {}),
        await post('/api/v1/keys', { role: 'admin' }),
        await post('/api/v1/segments/drafts/save', { yaml: 'name: x\\nwhere: { performed: { event: A } }' }),
        await post('/api/v1/govern/review/apply', { segment: 'champion' }),
      ];
    })()`);
    assert.deepEqual(statuses, [403, 403, 403, 403]);
    await page.close();
  });

  test('XSS canaries in traits, event names, properties and segment labels show as text; no script runs', async () => {
    const page = await newPage();
    await signIn(page, shop.keys.admin);
    await page.goto(`${shop.server.url}/#/people/${encodeURIComponent(CANARY.userId)}`);
    await page.getByRole('heading', { name: CANARY.userId, level: 1 }).waitFor();
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: CANARY.trait, exact: true }).waitFor();
    await page.getByRole('cell', { name: CANARY.company, exact: true }).waitFor();
    await page.getByRole('cell', { name: CANARY.event, exact: true }).first().waitFor();
    await page
      .getByRole('cell', { name: `note: ${CANARY.property}`, exact: true })
      .first()
      .waitFor();
    await page.screenshot({ path: join(SHOTS, 'xss-person.png') });
    await visit(page, '#/segments', 'Segments', 'xss-segments');
    await page.getByRole('link', { name: CANARY.label, exact: true }).waitFor();
    await page.getByRole('link', { name: CANARY.label, exact: true }).click();
    await page.getByRole('heading', { name: CANARY.label, level: 1 }).waitFor();
    await page.goto(`${shop.server.url}/#/segments/new?from=canary`);
    await page.getByRole('heading', { name: 'Segment builder' }).waitFor();
    await page.waitForFunction(() =>
      (document.querySelector('#seg-yaml') as HTMLTextAreaElement | null)?.value.includes('canary'),
    );
    for (const hash of [
      '#/overview',
      '#/behaviour',
      '#/plays',
      '#/plays/vip-hook',
      '#/segments/canary',
      '#/models',
      '#/govern',
    ]) {
      await page.goto(`${shop.server.url}/${hash}`);
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    }
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    // Every page of every test: no canary opened a dialog and no page threw.
    assert.deepEqual(alerts, []);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});
