import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository's src/ folder, found from this file so the tests run from any working directory. */
export const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

export interface SourceFile {
  /** Path under src/ with forward slashes: `segment/compile.ts`. */
  path: string;
  text: string;
}

/** Every TypeScript file under src/, in a stable order. */
export function sourceFiles(): SourceFile[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) return walk(full);
      return entry.name.endsWith('.ts') ? [full] : [];
    });
  return walk(SRC)
    .sort()
    .map((full) => ({ path: relative(SRC, full).split(sep).join('/'), text: readFileSync(full, 'utf8') }));
}

/**
 * The files under src/ a file imports (static imports, `import type`, re-exports and dynamic imports of a literal
 * path), as paths under src/. Packages and node: modules are left out. Type-only imports count: a cycle of types is
 * still two files that cannot be read one without the other.
 */
export function importsOf(file: SourceFile): string[] {
  const info = ts.preProcessFile(file.text, true, true);
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((spec) => spec.startsWith('./') || spec.startsWith('../'))
    .map((spec) => {
      const target = resolve(SRC, dirname(file.path), spec.replace(/\.js$/, '.ts'));
      return relative(SRC, target).split(sep).join('/');
    });
}

/**
 * The text of every string literal and template literal in a file (comments and code left out), so scans for SQL look
 * only where SQL can be. A template's substitutions read as `{expr}`, so a statement split by them is still one text.
 */
export function stringLiterals(file: SourceFile): { text: string; line: number }[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: { text: string; line: number }[] = [];
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      out.push({ text: node.text, line: lineOf(node) });
    } else if (ts.isTemplateExpression(node)) {
      const text = node.head.text + node.templateSpans.map((span) => `{expr}${span.literal.text}`).join('');
      out.push({ text, line: lineOf(node) });
      for (const span of node.templateSpans) visit(span.expression);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}
