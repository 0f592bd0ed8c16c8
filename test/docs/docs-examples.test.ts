// Docs that cannot drift (issue 24): every example in README.md and docs/*.md is run or validated here.
// - command blocks: each `segflow …` line runs, in order, in a project of its own (init, generated events, one known
//   person usr_123, the files the import examples name) and must succeed; `segflow serve` (it never returns) is checked
//   against `segflow serve --help`; `npm run X` / `npm start|test|install` must be scripts package.json has.
// - an output block after "prints:" must be what the command before it prints.
// - YAML blocks are validated by the schema of what they show (config section, playbook, segment, condition, mapping).
// - ts blocks import only what `segflow` exports, or packages that are installed.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { SegflowConfig } from '../../src/config/config.js';
import * as api from '../../src/index.js';
import { parseMapping } from '../../src/instrument/import/mapping.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import { CDNOW_SAMPLE, FIXTURES, tempDir } from '../helpers/temp.js';
import { type Block, blocks, commands, docFiles, isCommandBlock, REPO } from './markdown.js';

const PACKAGE = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as {
  scripts: Record<string, string>;
};
const NPM_BUILTINS = new Set(['install', 'test', 'start']);

/** Six months of generated events, made once for every project below. */
const SHARED = tempDir('segflow-docs-');
let generated: Promise<string> | undefined;
function generatedEvents(): Promise<string> {
  generated ??= (async () => {
    const dir = SHARED;
    const file = join(dir, 'events.ndjson');
    const r = await segflowHere(
      ['generate', '--people', '200', '--days', '181', '--seed', '24', '--out', file, '--json'],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    return file;
  })();
  return generated;
}

/** A project as a reader of the docs has one: init, the generated events, and the files examples name. */
async function project(): Promise<string> {
  const events = await generatedEvents();
  const dir = tempDir('segflow-docs-project-');
  for (const args of [['init'], ['import', events]]) {
    const r = await segflowHere(args, dir);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  // Generated people never answer a consent question; here they count as having agreed, so plays reach them.
  const playbook = join(dir, 'playbook.yaml');
  const opted = readFileSync(playbook, 'utf8').replace(
    'consent: { default: deny }',
    'consent: { default: allow }',
  );
  assert.notEqual(
    opted,
    readFileSync(playbook, 'utf8'),
    'the starter playbook says consent: { default: deny }',
  );
  writeFileSync(playbook, opted);
  // A known person for `segflow features usr_123` and the like.
  writeFileSync(
    join(dir, 'usr_123.ndjson'),
    [
      {
        type: 'identify',
        userId: 'usr_123',
        traits: { email: 'ada@example.com' },
        timestamp: '2026-03-01T10:00:00Z',
      },
      // The person docs/govern.md deletes by email.
      {
        type: 'identify',
        userId: 'usr_456',
        traits: { email: 'jane@example.com', phone: '+1 (555) 010-2030' },
        timestamp: '2026-03-02T10:00:00Z',
      },
      // Two people sharing an email (a delete of it needs --all-matching).
      ...['usr_789', 'usr_790'].map((userId) => ({
        type: 'identify',
        userId,
        traits: { email: 'shared@example.com' },
        timestamp: '2026-03-03T10:00:00Z',
      })),
      {
        type: 'track',
        userId: 'usr_123',
        event: 'Order Completed',
        properties: { revenue: 42 },
        timestamp: '2026-04-02T10:00:00Z',
      },
    ]
      .map((m) => JSON.stringify(m))
      .join('\n'),
  );
  assert.equal((await segflowHere(['import', 'usr_123.ndjson'], dir)).status, 0);
  // The files docs/importing.md and docs/predictive-models.md import.
  copyFileSync(events, join(dir, 'events.ndjson'));
  copyFileSync(CDNOW_SAMPLE, join(dir, 'CDNOW_master.txt'));
  mkdirSync(join(dir, 'test/fixtures/cdnow'), { recursive: true });
  copyFileSync(CDNOW_SAMPLE, join(dir, 'test/fixtures/cdnow/CDNOW_sample.txt'));
  copyFileSync(join(FIXTURES, 'rees46/sample.csv'), join(dir, '2019-Oct.csv'));
  mkdirSync(join(dir, 'test/fixtures/telco'), { recursive: true });
  copyFileSync(
    join(FIXTURES, 'telco/telco-customer-churn.csv'),
    join(dir, 'test/fixtures/telco/telco-customer-churn.csv'),
  );
  writeFileSync(
    join(dir, 'orders.csv'),
    'order_id,customer,customer_id,device,day,amount,plan,source,email\n' +
      'o1,c1,c1,d1,20260301,19.5,pro,fb,c1@example.com\no2,c2,c2,d2,20260302,7,free,gg,c2@example.com\n',
  );
  const mapping = allBlocks().find((b) => b.file === 'docs/importing.md' && b.lang === 'yaml');
  assert.ok(mapping, 'docs/importing.md shows a mapping');
  writeFileSync(join(dir, 'orders.yaml'), mapping.text);
  return dir;
}

function allBlocks(): Block[] {
  return docFiles().flatMap(blocks);
}

/** `segflow serve` never returns: its options must be ones `serve --help` lists. */
async function checkAgainstHelp(words: string[], cwd: string): Promise<void> {
  const sub = words.slice(1).filter((w) => !w.startsWith('-'));
  const help = await segflowHere([...sub.slice(0, 1), '--help'], cwd);
  for (const option of words.filter((w) => w.startsWith('--'))) {
    assert.ok(help.stdout.includes(option.split('=')[0]!), `${words.join(' ')}: ${option} is not in --help`);
  }
}

describe('every command example in README.md and docs/*.md runs', () => {
  const byFile = new Map<string, Block[]>();
  for (const b of allBlocks().filter(isCommandBlock)) byFile.set(b.file, [...(byFile.get(b.file) ?? []), b]);
  for (const [file, list] of byFile) {
    test(file, async () => {
      const dir = await project();
      for (const b of list) {
        let lastOutput = '';
        for (const words of commands(b.text)) {
          const where = `${file}:${b.line}: ${words.join(' ')}`;
          if (words[0] === 'npm') {
            const script = words[1] === 'run' ? words[2]! : words[1]!;
            assert.ok(NPM_BUILTINS.has(script) || script in PACKAGE.scripts, `${where}: no such npm script`);
            if (script !== 'install') assert.ok(script in PACKAGE.scripts, `${where}: no such npm script`);
            continue;
          }
          assert.equal(words[0], 'segflow', `${where}: a command block runs segflow or npm`);
          if (words[1] === 'serve') {
            await checkAgainstHelp(words, dir);
            continue;
          }
          const r = await segflowHere(words.slice(1), dir);
          assert.equal(r.status, 0, `${where}\nexit ${r.status}\n${r.stderr}`);
          lastOutput = r.stdout;
        }
        const next =
          list === undefined ? undefined : allBlocks().find((x) => x.file === file && x.line > b.line);
        if (next && next.lang === '' && /prints:$/.test(next.before.trim())) {
          const first = commands(b.text)[0]!;
          const r = await segflowHere(first.slice(1), dir);
          assert.ok(
            r.stdout.replace(/\s+$/gm, '').includes(next.text.replace(/\s+$/gm, '')),
            `${file}:${next.line}: the output shown is not what \`${first.join(' ')}\` prints:\n${r.stdout}`,
          );
          void lastOutput;
        }
      }
    });
  }
});

const CONDITION_KINDS = [
  'and',
  'or',
  'not',
  'performed',
  'notPerformed',
  'sequence',
  'feature',
  'trait',
  'inSegment',
];

/** What a YAML example shows decides the schema it must pass. */
function validateYaml(b: Block): string {
  const doc = parse(b.text) as Record<string, unknown>;
  const where = `${b.file}:${b.line}`;
  if ('plays' in doc) {
    api.parsePlaybook(b.text, where);
    return 'playbook';
  }
  if ('name' in doc && 'where' in doc) {
    const r = api.validateDefinition(doc);
    assert.deepEqual(r.problems ?? [], [], `${where}: the segment is not valid`);
    return 'segment';
  }
  if (Object.keys(doc).length === 1 && CONDITION_KINDS.includes(Object.keys(doc)[0]!)) {
    const r = api.validateDefinition({ name: 'example', where: doc });
    assert.deepEqual(r.problems ?? [], [], `${where}: the condition is not valid`);
    return 'condition';
  }
  if (
    ['model', 'measure', 'retention', 'privacy', 'dataRoot', 'engine', 'clickhouse'].some((k) => k in doc)
  ) {
    const cfg = SegflowConfig.parse(doc);
    if ('model' in doc) api.modelConfig(cfg.model);
    if ('measure' in doc) api.measureConfig(cfg.measure);
    if ('retention' in doc) api.retentionConfig(cfg.retention);
    return 'config';
  }
  if ('properties' in doc || 'userId' in doc) {
    parseMapping(doc, where);
    return 'mapping';
  }
  assert.fail(`${where}: a YAML example the docs test does not know how to check; teach test/docs`);
}

test('every YAML example in the docs passes the schema of what it shows', () => {
  const yaml = allBlocks().filter((b) => b.lang === 'yaml' || b.lang === 'yml');
  assert.ok(yaml.length >= 6);
  for (const b of yaml) validateYaml(b);
});

test('every TypeScript example imports only what segflow exports, or installed packages', () => {
  const ts = allBlocks().filter((b) => b.lang === 'ts');
  assert.ok(ts.length >= 3);
  for (const b of ts) {
    for (const m of b.text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
      const names = m[1]!
        .split(',')
        .map((n) => n.trim().replace(/^type\s+/, ''))
        .filter(Boolean);
      if (m[2] === 'segflow') {
        for (const n of names) assert.ok(n in api, `${b.file}:${b.line}: segflow does not export ${n}`);
      } else {
        assert.doesNotThrow(
          () => import.meta.resolve(m[2]!),
          `${b.file}:${b.line}: ${m[2]} is not installed`,
        );
        assert.ok(!m[2]!.startsWith('.'), `${b.file}:${b.line}: import from 'segflow', not a source path`);
      }
    }
  }
});

test("the README's CLI reference matches the commands' own --help", async () => {
  const readme = readFileSync(`${REPO}README.md`, 'utf8');
  const rows = readme.split('\n').filter((l) => l.startsWith('| `segflow '));
  assert.ok(rows.length >= 20);
  const cwd = tempDir();
  const documented = new Set<string>();
  for (const row of rows) {
    const cell = row.split(' | ')[0]!;
    // One row may show several forms: `segflow a b …`, then `c …` (a sibling: segflow a c) or `a c …`.
    let command = '';
    for (const m of cell.matchAll(/`([^`]+)`/g)) {
      const words = m[1]!.replace(/\\\|/g, '|').split(/\s+/);
      if (words[0] === 'segflow') words.shift();
      else if (words[0] !== command) words.unshift(command);
      const path: string[] = [];
      for (const w of words) {
        const name = w.split('|')[0]!;
        if (!/^[a-z][a-z-]*$/.test(name)) break;
        path.push(name);
      }
      command = path[0]!;
      documented.add(command);
      const both = await segflowHere([...path.slice(0, 2), '--help'], cwd);
      const help = both.status === 0 ? both : await segflowHere([command, '--help'], cwd);
      assert.equal(help.status, 0, `README: \`${m[1]}\`: no such command`);
      for (const option of m[1]!.match(/--[a-z][a-z-]*/g) ?? []) {
        assert.ok(
          help.stdout.includes(option),
          `README: \`${m[1]}\`: ${option} is not in \`segflow ${path.slice(0, 2).join(' ')} --help\``,
        );
      }
    }
  }
  const top = await segflowHere(['--help'], cwd);
  const listed = [...top.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
  for (const command of listed.filter((c) => c !== 'help')) {
    assert.ok(documented.has(command), `\`segflow ${command}\` is missing from the README's CLI reference`);
  }
});
