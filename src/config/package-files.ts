import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Files that ship with segflow (package.json, examples/, the built dashboard), found from the package's root folder.
 * The root is found by walking up from this module to the first package.json named `segflow`, not by a fixed number
 * of `../`: the same code runs from src/ (tsx), from dist/ (tsc) and from the bundled CLI (dist/cli-bundle/), each at
 * a different depth.
 */
let root: string | undefined;

/**
 * The folder that holds segflow's package.json.
 *
 * @example
 * packageRoot(); // '/usr/lib/node_modules/segflow'
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (
      existsSync(candidate) &&
      (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'segflow'
    ) {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`segflow's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/**
 * A path inside the package.
 *
 * @example
 * packagePath('examples', 'segments'); // '<root>/examples/segments'
 */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

/**
 * segflow's version, from its package.json.
 *
 * @example
 * packageVersion(); // '0.1.0'
 */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}
