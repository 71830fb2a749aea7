import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium): no browser is downloaded, none would be reachable. */
export const CHROMIUM = process.env.CLDL_CHROMIUM ?? '/usr/bin/chromium';

/**
 * A headless Chromium of the test's own. `hostMap` resolves names to loopback inside the browser
 * only (as DNS rebinding would), so a page can be loaded under a foreign Host.
 */
export async function launchBrowser(hostMap: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CLDL_CHROMIUM`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // This machine's network is closed: no background fetches, updates or sync at every start.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(hostMap.length ? [`--host-resolver-rules=${hostMap.map((h) => `MAP ${h} 127.0.0.1`).join(', ')}`] : []),
    ],
  });
}
