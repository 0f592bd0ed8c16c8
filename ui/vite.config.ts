import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is built into dist/ui, which `segflow serve` serves at /. Everything is bundled: no CDN, no fonts.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // No inline module-preload helper: the Content-Security-Policy allows no inline script.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
