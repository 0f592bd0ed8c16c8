import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { type SourceFile, sourceFiles } from './source-files.js';

/**
 * What loading a file loads with it: the modules its value imports and re-exports name, following files under src/
 * (packages by name). `import type`, imports of types only and dynamic `import()` load nothing at that point.
 */
function staticallyLoaded(
  files: SourceFile[],
  start: string,
): { files: Set<string>; packages: Map<string, string> } {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (path: string): void => {
    const file = byPath.get(path);
    if (!file || seen.has(path)) return;
    seen.add(path);
    const source = ts.createSourceFile(path, file.text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    for (const node of source.statements) {
      let spec: string | undefined;
      if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
        const clause = node.importClause;
        const bindings = clause?.namedBindings;
        const typesOnly =
          clause !== undefined &&
          clause.name === undefined &&
          bindings !== undefined &&
          ts.isNamedImports(bindings) &&
          bindings.elements.length > 0 &&
          bindings.elements.every((e) => e.isTypeOnly);
        if (!typesOnly) spec = (node.moduleSpecifier as ts.StringLiteral).text;
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
        const clause = node.exportClause;
        const typesOnly =
          clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly);
        if (!typesOnly) spec = (node.moduleSpecifier as ts.StringLiteral).text;
      }
      if (spec === undefined) continue;
      if (spec.startsWith('.')) visit(join(dirname(path), spec).replace(/\.js$/, '.ts'));
      else if (!packages.has(spec)) packages.set(spec, path);
    }
  };
  visit(start);
  return { files: seen, packages };
}

/**
 * Every `segflow` command opens DuckDB, so how `@duckdb/node-api` is loaded is paid on each call. It is CommonJS in
 * many files: `import`ed from an ES module, Node sends each inner require through the ES module loader (about 0.35 s
 * more on this machine); src/engine/duckdb/node-api.ts loads it with `require` once, and everything else takes it
 * from there. Type-only imports cost nothing and are fine.
 */
describe('house rules: start-up cost', () => {
  it('only engine/duckdb/node-api.ts loads @duckdb/node-api as a value', () => {
    const valueImport = /^import\s+(?!type\b)[^;]*from\s+'@duckdb\/node-api'/m;
    const offenders = sourceFiles()
      .filter((f) => f.path !== 'engine/duckdb/node-api.ts' && valueImport.test(f.text))
      .map((f) => f.path);
    assert.deepEqual(offenders, [], "import it from './node-api.js' (or use `import type`)");
  });

  // zod's and the YAML parser's modules took tens of milliseconds of each `segflow models fit` process (issue 23):
  // result schemas live apart from the code that computes the results (e.g. model/predict/stored-fit.ts), and the
  // config file's parser is loaded only when there is a config file (cli/context.ts).
  // The command loads the fitting code (model-fits.ts) with `import()` while DuckDB opens the file: both are walked.
  it('`segflow models fit bgnbd|gammagamma` loads neither zod nor the YAML parser', () => {
    const files = sourceFiles();
    const loaded = [
      ...staticallyLoaded(files, 'cli/run.ts').packages,
      ...staticallyLoaded(files, 'cli/commands/models.ts').packages,
      ...staticallyLoaded(files, 'model/predict/model-fits.ts').packages,
    ];
    const heavy = loaded
      .filter(([name]) => /^(zod|yaml)(\/|$)/.test(name))
      .map(([name, by]) => `${name} (by ${by})`);
    assert.deepEqual(heavy, []);
    // The walk itself sees imports: the fit's own code is reached, and the server's schemas load zod.
    assert.ok(staticallyLoaded(files, 'model/predict/model-fits.ts').files.has('model/predict/bgnbd.ts'));
    assert.match(
      files.find((f) => f.path === 'cli/commands/models.ts')!.text,
      /import\('\.\.\/\.\.\/model\/predict\/model-fits\.js'\)/,
    );
    assert.ok(staticallyLoaded(files, 'server/model-routes.ts').packages.has('zod'));
  });
});
