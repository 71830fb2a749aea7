import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { launchBrowser } from '../support/browser.ts';
import { startDaemon, type RunningDaemon } from '../support/daemon.ts';
import { repoRoot } from '../support/shared-tools.ts';

// The status page in a real browser (Debian's Chromium, driven by playwright-core).
const MB = 1024 * 1024;
let sim: Simulator;
let browser: Browser;
let d: RunningDaemon | undefined;

beforeAll(async () => {
  sim = await startSimulator({
    prepareDelayMs: 5,
    items: [
      { name: 'photon-5.iso', files: [{ name: 'photon-5.iso', size: 48 * MB }] },
      { name: 'evil', files: [{ name: '../../etc/passwd', size: 10 }] },
      { name: 'ubuntu.iso', files: [{ name: 'ubuntu.iso', size: 48 * MB }] },
    ],
  });
  browser = await launchBrowser(['evil.example']);
});
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
});
afterEach(async () => {
  sim.faults.clear();
  await d?.stop();
  d = undefined;
});

async function enqueue(base: string, body: object): Promise<string> {
  const res = await fetch(`${base}/downloads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return ((await res.json()) as { id: string }).id;
}

describe('the status page', () => {
  it('shows a running download whose percentage grows without a reload, and saves a screenshot', async () => {
    d = await startDaemon(sim, { CLDL_HTTP_PORT: '0' });
    const base = d.daemon.http.url;
    sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 8 * MB });
    const id = await enqueue(base, { id: 'photon-nightly', libraryItemId: sim.item('photon-5.iso').id, destination: 'isos/photon' });
    await enqueue(base, { id: 'evil-item', libraryItemId: sim.item('evil').id, destination: 'evil' });
    await fetch(`${base}/mirrors`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ library: 'cldl-sim', destination: 'dr', items: 'ubuntu*' }) });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(base);
    const pct = page.locator(`tr[data-id="${id}"] .pct`);
    await expect.poll(async () => parseInt(await pct.innerText(), 10), { timeout: 20_000 }).toBeGreaterThan(5);
    const first = parseInt(await pct.innerText(), 10);
    await expect.poll(async () => parseInt(await pct.innerText(), 10), { timeout: 20_000 }).toBeGreaterThan(first + 10);
    expect(await page.locator('#live').innerText()).toBe('live');
    await expect.poll(() => page.locator('tr[data-id="evil-item"] .state').innerText(), { timeout: 20_000 }).toBe('failed');
    await expect.poll(() => page.locator('#mirrors tbody tr .state').innerText(), { timeout: 20_000 }).toBe('downloading');
    await mkdir(path.join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test-results', 'status-page.png') });
    await page.close();
  });

  it('cancels a download from the page: it ends as canceled', async () => {
    d = await startDaemon(sim);
    const base = d.daemon.http.url;
    sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 4 * MB });
    const id = await enqueue(base, { libraryItemId: sim.item('ubuntu.iso').id, destination: 'isos/ubuntu' });
    const page = await browser.newPage();
    await page.goto(base);
    const row = page.locator(`tr[data-id="${id}"]`);
    await expect.poll(() => row.locator('.state').innerText(), { timeout: 20_000 }).toBe('transferring');
    await row.locator('button.cancel').click();
    await expect.poll(() => row.locator('.state').innerText(), { timeout: 20_000 }).toBe('canceled');
    const status = (await (await fetch(`${base}/downloads/${id}`)).json()) as { state: string };
    expect(status.state).toBe('canceled');
    await page.close();
  });

  it('shows the message of a failed download', async () => {
    d = await startDaemon(sim);
    const base = d.daemon.http.url;
    const id = await enqueue(base, { libraryItemId: sim.item('evil').id, destination: 'evil' });
    const page = await browser.newPage();
    await page.goto(base);
    const row = page.locator(`tr[data-id="${id}"]`);
    await expect.poll(() => row.locator('.state').innerText(), { timeout: 20_000 }).toBe('failed');
    expect(await row.locator('.error').innerText()).toContain('refusing file name "../../etc/passwd" from the server: it contains a path separator');
    await page.close();
  });

  it('has its table without JavaScript', async () => {
    d = await startDaemon(sim);
    const base = d.daemon.http.url;
    const id = await enqueue(base, { libraryItemId: sim.item('evil').id, destination: 'evil2' });
    await expect.poll(async () => ((await (await fetch(`${base}/downloads/${id}`)).json()) as { state: string }).state, { timeout: 20_000 }).toBe('failed');
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/?state=failed`);
    expect(await page.locator(`tr[data-id="${id}"] .state`).innerText()).toBe('failed');
    expect(await page.locator(`tr[data-id="${id}"] .error`).innerText()).toContain('it contains a path separator');
    expect(await page.locator('#live').innerText()).toBe('snapshot');
    await context.close();
  });

  it('refuses a foreign Host (a page rebound to 127.0.0.1)', async () => {
    d = await startDaemon(sim);
    const port = new URL(d.daemon.http.url).port;
    const page = await browser.newPage();
    const res = await page.goto(`http://evil.example:${port}/`);
    expect(res?.status()).toBe(421);
    expect(await page.content()).toContain('CLDL_HOST_NOT_ALLOWED');
    const events = await page.evaluate(async () => (await fetch('/events')).status);
    expect(events).toBe(421);
    await page.close();
  });

  it('asks for the token beyond loopback, keeps it in the tab, and then shows the downloads', async () => {
    const token = 'a-token-of-at-least-sixteen';
    d = await startDaemon(sim, { CLDL_HTTP_TOKEN: token });
    const base = d.daemon.http.url;
    const id = await (
      await fetch(`${base}/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ libraryItemId: sim.item('evil').id, destination: 'evil3' }),
      })
    ).json() as { id: string };
    const page = await browser.newPage();
    await page.goto(base);
    expect(await page.locator('#downloads tbody tr').count()).toBe(0); // nothing without the token
    await page.fill('#token input[name=token]', token);
    await page.click('#token button');
    await expect.poll(() => page.locator(`tr[data-id="${id.id}"]`).count(), { timeout: 20_000 }).toBe(1);
    expect(await page.evaluate(() => sessionStorage.getItem('cldl-token'))).toBe(token);
    await page.close();
  });
});
