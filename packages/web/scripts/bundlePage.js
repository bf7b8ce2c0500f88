// Bundles the page (page/*.ts, uPlot, dagre, the styles) into dist/page/, which the server serves: the view works offline, no CDN.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const out = new URL('dist/page/', root);
await mkdir(out, { recursive: true });
await build({
  absWorkingDir: root.pathname,
  entryPoints: { app: 'page/main.ts' },
  outdir: 'dist/page',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  // The bundled libraries' licences go to one file instead (below).
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  absWorkingDir: root.pathname,
  entryPoints: { app: 'page/app.css' },
  outdir: 'dist/page',
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
await copyFile(new URL('page/index.html', root), new URL('index.html', out));

// The licences of what the bundle holds (all MIT), shipped next to it.
const require = createRequire(new URL('package.json', root));
const dagre = dirname(require.resolve('@dagrejs/dagre/package.json'));
const bundled = [
  ['uPlot', dirname(require.resolve('uplot/package.json'))],
  ['@dagrejs/dagre', dagre],
  ['@dagrejs/graphlib', dirname(createRequire(join(dagre, 'package.json')).resolve('@dagrejs/graphlib/package.json'))],
];
const notices = await Promise.all(bundled.map(async ([name, dir]) => `${name}\n\n${await readFile(join(dir, 'LICENSE'), 'utf8')}`));
await writeFile(new URL('THIRD-PARTY-LICENSES.txt', out), `The page bundles these libraries:\n\n${notices.join('\n---\n\n')}`);
