import { readFile } from 'node:fs/promises';

/** A file of the page, held in memory: the whole page is a few hundred KB. */
export interface PageAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The page, bundled by `scripts/bundlePage.js` (the package's build) next to the compiled server. */
const PAGE_DIR = new URL('../dist/page/', import.meta.url);
const FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** Reads the bundled page, by the path it is served at. */
export async function loadPageAssets(): Promise<ReadonlyMap<string, PageAsset>> {
  const assets = new Map<string, PageAsset>();
  for (const [path, file] of Object.entries(FILES)) {
    let body: Buffer;
    try {
      body = await readFile(new URL(file, PAGE_DIR));
    } catch (error) {
      throw new Error(`@tributary/web: the page is not built (${(error as NodeJS.ErrnoException).code ?? String(error)} reading dist/page/${file}); run its build: pnpm --filter @tributary/web build`, {
        cause: error,
      });
    }
    assets.set(path, { contentType: TYPES[file.split('.').pop() as string] as string, body });
  }
  return assets;
}
