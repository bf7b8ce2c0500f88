#!/usr/bin/env node
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Application } from 'typedoc';
import { publicEntryPoints } from './entryPoints.js';

/**
 * Generates the API reference of every published package from its TSDoc
 * comments into docs/api/ (HTML, not committed: it is rebuilt from the
 * sources, so it can never disagree with them).
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const out = `${root}docs/api`;
const packages = await publicEntryPoints(root);

const app = await Application.bootstrapWithPlugins({
  entryPoints: packages.map((p) => p.entryPoint),
  tsconfig: fileURLToPath(new URL('../tsconfig.typedoc.json', import.meta.url)),
  name: 'Tributary API',
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  // `./internal/*` is closed by every package's exports map: nothing there is API.
  excludeNotDocumented: false,
  sort: ['kind', 'instance-first', 'alphabetical'],
  validation: { notExported: false, invalidLink: true, rewrittenLink: true, notDocumented: false, unusedMergeModuleWith: true },
});
const project = await app.convert();
if (project === undefined) {
  process.exitCode = 1;
} else {
  // Modules are named after their entry files' paths ('core/src'); readers know them by package name.
  for (const module of project.children ?? []) {
    const match = packages.find((p) => module.sources?.some((s) => s.fullFileName === p.entryPoint) ?? false);
    if (match !== undefined) module.name = match.name;
  }
  await rm(out, { recursive: true, force: true });
  await app.generateDocs(project, out);
  process.stdout.write(`API reference of ${packages.map((p) => p.name).join(', ')} written to docs/api/index.html\n`);
  if (app.logger.hasErrors()) process.exitCode = 1;
}
