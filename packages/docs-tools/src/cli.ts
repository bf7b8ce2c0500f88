#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDocExamples, docFiles, formatDocExamplesReport } from './checkDocExamples.js';
import { findBrokenLinks } from './links.js';

// Checks the docs of the repository this package sits in: marked blocks against their files, every TypeScript block
// for being whole with its imports, relative links against the tree.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const files = await docFiles(root);
const report = await checkDocExamples(root, files);
process.stdout.write(formatDocExamplesReport(report));
let broken = 0;
for (const file of files) {
  for (const link of await findBrokenLinks(root, file, await readFile(join(root, file), 'utf8'))) {
    process.stdout.write(`FAIL ${link.file}:${link.line}: broken link ${link.target}\n`);
    broken++;
  }
}
process.exitCode = report.failures.length === 0 && report.incomplete.length === 0 && broken === 0 ? 0 : 1;
