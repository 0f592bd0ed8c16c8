import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importsOf, sourceFiles } from './source-files.js';

/**
 * The house rules of docs/ARCHITECTURE.md about imports, checked on the import graph of src/ (built with the
 * TypeScript compiler's own pre-processor, so it sees exactly the import statements tsc sees):
 * - no import cycles, type-only imports included;
 * - a playbook step imports only from steps before it and from engine/, config/, shared/ and errors.ts;
 * - engine/, config/ and shared/ import no step.
 */

/** The playbook steps in order: each may import from the ones before it. */
const STEPS = ['instrument', 'model', 'segment', 'activate', 'personalize', 'measure', 'govern'];
/** Folders every step may import from. */
const FOUNDATIONS = ['engine', 'config', 'shared', 'errors.ts'];

function graph(): Map<string, string[]> {
  const files = sourceFiles();
  const known = new Set(files.map((f) => f.path));
  return new Map(files.map((f) => [f.path, importsOf(f).filter((target) => known.has(target))]));
}

/** Every cycle's files (Tarjan's strongly connected components of more than one file, or a file importing itself). */
export function cyclesOf(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) connect(v);
  return cycles;
}

const topOf = (path: string) => path.split('/')[0]!;

describe('house rules: imports', () => {
  const edges = graph();

  it('sees the whole of src/ (the graph is not empty by mistake)', () => {
    assert.ok(edges.size > 100, `only ${edges.size} files found under src/`);
    assert.ok(edges.get('index.ts')!.length > 20, 'src/index.ts should import many modules');
  });

  it('the cycle finder finds a cycle when there is one', () => {
    const withCycle = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    assert.deepEqual(cyclesOf(withCycle), [['a.ts', 'b.ts', 'c.ts']]);
  });

  it('has no import cycles', () => {
    const cycles = cyclesOf(edges);
    assert.deepEqual(
      cycles,
      [],
      `import cycles in src/ (move the shared declarations to a file both can import):\n${cycles
        .map((c) => `  ${c.join(' ↔ ')}`)
        .join('\n')}`,
    );
  });

  it('a step imports only from steps before it and from engine/, config/, shared/ and errors.ts', () => {
    const wrong: string[] = [];
    for (const [from, targets] of edges) {
      const step = STEPS.indexOf(topOf(from));
      if (step < 0) continue;
      for (const target of targets) {
        const top = topOf(target);
        if (top === topOf(from) || FOUNDATIONS.includes(top)) continue;
        const targetStep = STEPS.indexOf(top);
        if (targetStep >= 0 && targetStep < step) continue;
        wrong.push(`${from} imports ${target}`);
      }
    }
    assert.deepEqual(wrong, [], `imports against the playbook order:\n  ${wrong.join('\n  ')}`);
  });

  it('engine/, config/ and shared/ import no step', () => {
    const wrong: string[] = [];
    for (const [from, targets] of edges) {
      if (!['engine', 'config', 'shared'].includes(topOf(from))) continue;
      for (const target of targets) {
        if (!FOUNDATIONS.includes(topOf(target))) wrong.push(`${from} imports ${target}`);
      }
    }
    assert.deepEqual(wrong, [], `foundations importing steps:\n  ${wrong.join('\n  ')}`);
  });
});
