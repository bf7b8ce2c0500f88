#!/usr/bin/env node
// Committed, not built: pnpm links bins at install time, before `dist/` exists, and warns about a missing target.
import '../dist/main.js';
