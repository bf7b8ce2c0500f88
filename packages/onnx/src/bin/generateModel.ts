#!/usr/bin/env node
import { runGenerateModelCli } from '../cli/generateModelCli.js';

process.exitCode = await runGenerateModelCli(process.argv.slice(2), {
  log: (line) => console.log(line),
  error: (line) => console.error(line),
});
