/**
 * Headless Chromium for the browser tests: Debian's `chromium`, found on PATH
 * or installed with apt-get when missing (as root), driven by playwright-core.
 * Without a browser the tests fail with what to install; they never skip.
 */
import { chromium, type Browser } from 'playwright-core';
import { ensureDebianPackage } from '../../../testing/test/support/debianPackage.js';

/** Launches headless Chromium (installing Debian's package first if needed). */
export async function launchChromium(): Promise<Browser> {
  const binary =
    process.env.TRIBUTARY_CHROMIUM ??
    ensureDebianPackage({
      name: 'chromium',
      commands: ['chromium', 'chromium-browser'],
      requester: 'web tests',
      missing:
        'chromium is not on PATH. Install it (Debian/Ubuntu: `sudo apt-get install -y chromium`, macOS: `brew install --cask chromium`) ' +
        'or point the tests at a Chromium or Chrome binary with TRIBUTARY_CHROMIUM=/path/to/chromium.',
    });
  // Root in CI needs --no-sandbox; the page is our own, served from 127.0.0.1.
  return chromium.launch({ executablePath: binary, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
