// Bundles the page (page/*.ts, uPlot, dagre, the styles) into dist/page/, which the server serves: the view works offline, no CDN.
import { copyFile, mkdir } from 'node:fs/promises';
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
  legalComments: 'linked',
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
