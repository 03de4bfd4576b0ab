// Bundles every process of the app into build/out/ with esbuild:
//   main.cjs (Electron main), preload.cjs (sandboxed preload), worker.cjs (DuckDB worker),
//   cli.cjs (the `cleanroom` command and the browser shell), renderer/ (React app, static files).
// Native and Electron modules stay external: they are loaded from node_modules at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build', 'out');
const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;

const nodeTargets = [
  { entry: 'electron/main/main.ts', outfile: 'main.cjs' },
  { entry: 'electron/preload/preload.ts', outfile: 'preload.cjs' },
  { entry: 'electron/worker/main.ts', outfile: 'worker.cjs' },
  { entry: 'electron/cli/main.ts', outfile: 'cli.cjs' },
];

export async function buildAll({ quiet = false } = {}) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(path.join(out, 'renderer'), { recursive: true });
  const define = { __CLEANROOM_VERSION__: JSON.stringify(version) };
  await Promise.all([
    ...nodeTargets.map(({ entry, outfile }) =>
      build({
        entryPoints: [path.join(root, entry)],
        outfile: path.join(out, outfile),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        sourcemap: 'linked',
        external: ['electron', 'better-sqlite3', '@duckdb/node-api', '@duckdb/node-bindings*'],
        define,
        logLevel: quiet ? 'error' : 'warning',
      }),
    ),
    build({
      entryPoints: { app: path.join(root, 'renderer/src/main.tsx') },
      outdir: path.join(out, 'renderer'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'chrome120',
      jsx: 'automatic',
      minify: true,
      sourcemap: 'linked',
      define: { ...define, 'process.env.NODE_ENV': '"production"' },
      loader: { '.svg': 'file', '.woff2': 'file' },
      logLevel: quiet ? 'error' : 'warning',
    }),
  ]);
  copyFileSync(path.join(root, 'renderer/index.html'), path.join(out, 'renderer/index.html'));
  if (!quiet) console.log(`build: bundles written to ${path.relative(root, out)}/`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildAll({ quiet: process.argv.includes('--quiet') });
}
