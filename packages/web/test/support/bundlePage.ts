import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** vitest globalSetup: the server serves the bundled page (dist/page/), so bundle it as the build does. */
export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/bundlePage.js', import.meta.url))], { stdio: 'inherit' });
}
