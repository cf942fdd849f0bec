// Headless Debian Chromium for the browser tests (runtimes.test.mjs, packed.test.mjs),
// driven by playwright-core — never a downloaded browser. Chromium must be at
// /usr/bin/chromium (scripts/ensure-chromium.mjs installs it with apt-get); without it the
// tests skip themselves, unless MESHGUARD_REQUIRE_BROWSER=1 (CI), where that is a failure.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

/** `false`, or why the browser tests skip. */
export const browserSkip =
  !existsSync(CHROMIUM) && process.env.MESHGUARD_REQUIRE_BROWSER !== '1'
    ? `${CHROMIUM} is missing (node scripts/ensure-chromium.mjs installs it)`
    : false;

/** A browser context on a fresh profile; `close()` also removes the profile. */
export async function launchChromium() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run node scripts/ensure-chromium.mjs`);
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'meshguard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
