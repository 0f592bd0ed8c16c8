import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CANARY, type Shop, startShop } from './shop.js';

/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) over a generated shop: the marketer's
 * and the admin's journeys, a read key that cannot act, XSS canaries shown as text, axe-core on every page, and a
 * screenshot of every page at 1440×900 (docs/screenshots/).
 */
const CHROMIUM = process.env.SEGFLOW_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = new URL('../../', import.meta.url).pathname;
const SHOTS = join(ROOT, 'docs', 'screenshots');
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
    const estimate = page.getByTestId('estimate');
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
    assert.equal(await page.getByRole('button', { name: /Delete|Suppress/ }).count(), 0);
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
    for (const hash of ['#/overview', '#/behaviour', '#/plays', '#/models', '#/govern']) {
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
