import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadFailedError } from '../../src/orchestrator/index.ts';
import type { ItemSpec } from '../../src/simulator/index.ts';
import { startHarness, workerDefaults, type Harness, type HarnessOptions } from '../support/harness.ts';
import { mountSmallDisk } from '../support/tmpfs.ts';

let h: Harness | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const MB = 1024 * 1024;
const BIG: ItemSpec = { name: 'big.iso', files: [{ name: 'big.iso', size: 12 * MB + 5 }] };
const OVF: ItemSpec = {
  name: 'tiny',
  manifest: true,
  files: [
    { name: 'tiny.ovf', size: 1000 },
    { name: 'tiny-disk1.vmdk', size: 4 * MB },
  ],
};

async function download(options: HarnessOptions, item = 'big.iso', extra: object = {}) {
  h = await startHarness(options);
  const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item(item).id, destination: 'out', ...extra });
  return { id, wait: () => h!.client.waitForDownload(id, { timeoutMs: 30_000 }) };
}

async function expectIdentical(item: string, file: string) {
  expect(await h!.sha256(`out/${file}`)).toBe(await h!.expectedSha256(item, file));
}

describe('transient faults a download rides out', () => {
  it('resumes with Range after the connection resets every few MB', async () => {
    const { wait } = await download({ simulator: { items: [BIG] } });
    h!.sim.faults.add({ kind: 'reset', afterBytes: 3 * MB, rst: true });
    await wait();
    await expectIdentical('big.iso', 'big.iso');
    const ranges = h!.sim.inspect().dataRequests.map((r) => r.range);
    expect(ranges.length).toBeGreaterThanOrEqual(4);
    expect(ranges.slice(1).every((r) => /^bytes=\d+-$/.test(r ?? ''))).toBe(true);
  });

  it('starts over on a server that ignores Range, and still ends byte-identical', async () => {
    const { wait } = await download({ simulator: { items: [BIG], ranges: false } });
    h!.sim.faults.add({ kind: 'reset', afterBytes: 5 * MB, times: 2 });
    await wait();
    await expectIdentical('big.iso', 'big.iso');
    expect(h!.sim.inspect().dataRequests.every((r) => r.status === 200)).toBe(true);
  });

  it('rides out 503s on vAPI calls', async () => {
    const { wait } = await download({ simulator: { items: [OVF], seed: 7 } }, 'tiny');
    h!.sim.faults.add({ kind: 'error', op: '*', error: 'service_unavailable', probability: 0.25 });
    await wait();
    await expectIdentical('tiny', 'tiny-disk1.vmdk');
  });

  it('logs in again when the API session is invalidated mid-transfer', async () => {
    const { wait } = await download({ simulator: { items: [BIG] } });
    h!.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 20 * MB });
    setTimeout(() => h?.sim.invalidateApiSessions(), 250);
    await wait();
    await expectIdentical('big.iso', 'big.iso');
    expect(h!.sim.inspect().calls.login).toBeGreaterThanOrEqual(2);
  });

  it('resumes after a stall through the body idle timeout', async () => {
    const { wait } = await download({ simulator: { items: [BIG] }, vcenter: { timeouts: { bodyIdleMs: 500, headersMs: 5000, requestMs: 5000 } } });
    h!.sim.faults.add({ kind: 'stall', afterBytes: 2 * MB, ms: 3000, times: 1 });
    await wait();
    await expectIdentical('big.iso', 'big.iso');
  });

  it('continues in a fresh session when the session expires mid-transfer, keeping the bytes on disk', async () => {
    const { wait } = await download({ simulator: { items: [BIG] } });
    h!.sim.faults.add({ kind: 'expire-session', afterBytes: 5 * MB, times: 1 });
    const result = await wait();
    await expectIdentical('big.iso', 'big.iso');
    const sessions = h!.sim.inspect().sessions;
    expect(sessions.map((s) => s.gone)).toEqual(['expired', 'deleted']);
    expect(result.sessionId).toBe(sessions[1]!.id);
    const second = h!.sim.inspect().dataRequests.filter((r) => r.session === sessions[1]!.id);
    expect(Number(/bytes=(\d+)-/.exec(second[0]!.range ?? '')?.[1])).toBeGreaterThan(0);
  });

  it('re-downloads a file whose checksum does not match once, then succeeds', async () => {
    const { wait } = await download({ simulator: { items: [BIG] } });
    h!.sim.faults.add({ kind: 'corrupt', offset: 7 * MB + 3, times: 1 });
    const result = await wait();
    await expectIdentical('big.iso', 'big.iso');
    expect(result.files[0]).toMatchObject({ verified: true });
    expect(h!.sim.inspect().dataRequests.filter((r) => !r.range).length).toBe(2);
  });

  it('keeps a session alive through a long preparation that would outlast its idle timeout', async () => {
    const { wait } = await download({
      simulator: { items: [OVF], sessionIdleTimeoutMs: 1500, prepareDelayMs: 1200 },
      worker: { keepAlive: { intervalMs: 60_000, reportIntervalMs: 200, tickMs: 50, retry: { baseMs: 100, maxMs: 1000 } } },
    }, 'tiny');
    await wait();
    const [session] = h!.sim.inspect().sessions;
    expect(session!.gone).toBe('deleted');
    // With a 1.5 s idle timeout, a third of the time left is under the 1 s floor: beats come every
    // second, at least 3 over ~3.6 s of preparing, and never a gap as long as the timeout.
    expect(session!.keepAlives.length).toBeGreaterThanOrEqual(3);
    const gaps = session!.keepAlives.slice(1).map((k, i) => k.at - session!.keepAlives[i]!.at);
    expect(Math.max(...gaps)).toBeLessThan(1400);
  });

  it('synchronises a subscribed item that is not cached before downloading it', async () => {
    const { id, wait } = await download(
      { simulator: { items: [{ name: 'sub.iso', subscribed: true, cached: false, files: [{ name: 'sub.iso', size: MB }] }], syncDelayMs: 300 } },
      'sub.iso',
    );
    const states = new Set<string>();
    const poll = setInterval(() => void h?.client.getDownload(id).then((s) => s && states.add(s.state)), 20);
    await wait();
    clearInterval(poll);
    expect(states.has('syncing')).toBe(true);
    expect(h!.sim.inspect().calls['item.sync']).toBe(1);
    await expectIdentical('sub.iso', 'sub.iso');
  });
});

describe('errors that end a download', () => {
  it('ends as canceled, with vCenter\'s word, when an admin cancels the session mid-transfer; the partial file goes', async () => {
    const { id, wait } = await download({ simulator: { items: [BIG] } });
    h!.sim.faults.add({ kind: 'cancel-session', afterBytes: 4 * MB });
    const err = await wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadFailedError);
    expect(err).toMatchObject({ state: 'canceled' });
    expect((err as Error).message).toMatch(/canceled: vCenter reports download session .* as CANCELED/);
    expect(await h!.client.getDownload(id)).toMatchObject({ state: 'canceled' });
    expect(await h!.listDir('out')).toEqual([]);
    expect(h!.sim.inspect().calls['download_session.fail']).toBe(0);
    expect(h!.sim.inspect().sessions[0]).toMatchObject({ state: 'CANCELED', gone: 'deleted' });
  });

  it('does not fail() a session that is gone; it fails the download with the reason', async () => {
    const { wait } = await download({ simulator: { items: [BIG] }, worker: { job: { ...workerDefaults().job, maxSessionRenewals: 0 } } });
    h!.sim.faults.add({ kind: 'expire-session', afterBytes: 4 * MB });
    await expect(wait()).rejects.toThrow(/no longer exists on vCenter/);
    expect(h!.sim.inspect().calls['download_session.fail']).toBe(0);
  });

  it('fails after a second checksum mismatch, telling vCenter which file', async () => {
    const { wait } = await download({ simulator: { items: [BIG] } });
    h!.sim.faults.add({ kind: 'corrupt', offset: 1234 });
    await expect(wait()).rejects.toThrow(/big.iso: SHA1 is [0-9a-f]{40}, but vCenter says [0-9a-f]{40}/);
    expect(h!.sim.inspect().sessions[0]!.errorMessage).toMatch(/cldl could not download library item .* to out: big.iso: SHA1 is/);
    expect(await h!.listDir('out')).toEqual([]);
  });

  it.each(['../../etc/passwd', '/etc/passwd', 'evil\0name'])('refuses a file name from the server like %j', async (name) => {
    const { wait } = await download({ simulator: { items: [{ name: 'evil', files: [{ name, size: 10 }] }] } }, 'evil');
    await expect(wait()).rejects.toThrow(/refusing file name .* from the server/);
    expect(h!.sim.inspect().sessions[0]!.errorMessage).toMatch(/refusing file name/);
    expect(await readdir(h!.root)).toEqual(['out']);
  });

  it('fails with the server message when preparation ends in ERROR', async () => {
    const { wait } = await download({ simulator: { items: [OVF] } }, 'tiny');
    h!.sim.faults.add({ kind: 'prepare-error', file: 'tiny-disk1.vmdk', message: 'datastore ds1 is not accessible' });
    await expect(wait()).rejects.toThrow(/vCenter could not prepare tiny-disk1.vmdk for download: datastore ds1 is not accessible/);
  });

  it('gives up on a preparation that never finishes, naming the file and its state', async () => {
    h = await startHarness({
      simulator: { items: [OVF] },
      jobs: { attempts: 1 },
      worker: {
        job: {
          filesPerJob: 2,
          transfer: { ...workerDefaults().job.transfer, attempts: 3, backoff: { baseMs: 50, maxMs: 200 } },
          prepare: { timeoutMs: 800, pollMs: 20, maxPollMs: 100 },
          sync: { timeoutMs: 1000, pollMs: 50 },
          maxSessionRenewals: 1,
        },
      },
    });
    h.sim.faults.add({ kind: 'prepare-never', file: 'tiny-disk1.vmdk' });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('tiny').id, destination: 'out' });
    await expect(h.client.waitForDownload(id, { timeoutMs: 20_000 })).rejects.toThrow(/did not finish preparing tiny-disk1.vmdk \(PREPARING\) within 1 s/);
  });

  it('fails when the disk is full, naming the disk, with no .part left', async () => {
    const disk = await mountSmallDisk(3 * MB);
    cleanups.push(() => disk.unmount());
    h = await startHarness({ simulator: { items: [BIG] }, worker: { downloadRoot: disk.dir } });
    const id = await h.client.enqueueDownload({ libraryItemId: h.sim.item('big.iso').id, destination: 'out' });
    await expect(h.client.waitForDownload(id, { timeoutMs: 30_000 })).rejects.toThrow(/no space left on the device holding .*\/\.big\.iso\.[0-9a-f]{12}\.cldl-part while writing big\.iso/);
    expect(h.sim.inspect().sessions[0]!.errorMessage).toMatch(/no space left on the device holding/);
    expect(await readdir(path.join(disk.dir, 'out'))).toEqual([]);
  });
});

describe('what vCenter changes under a download', () => {
  // A session pins the item's content version. Bytes written for version 1 resumed into a session
  // serving version 2 would splice two contents; only a checksum would notice.
  it('starts over when a fresh session serves another content version, instead of resuming into it', async () => {
    const { id, wait } = await download({ simulator: { items: [BIG] } });
    h!.sim.faults.add({ kind: 'bandwidth', bytesPerSecond: 8 * MB });
    await expect.poll(async () => (await h!.client.getDownload(id))?.progress.bytesDone ?? 0, { timeout: 20_000 }).toBeGreaterThan(3 * MB);
    const [first] = h!.sim.inspect().sessions;
    h!.sim.replaceItemContent('big.iso');
    h!.sim.expireSession(first!.id);
    const result = await wait();
    await expectIdentical('big.iso', 'big.iso'); // the new content, whole
    expect(result.files[0]).toMatchObject({ verified: true });
    const second = h!.sim.inspect().sessions[1]!;
    const ranges = h!.sim.inspect().dataRequests.filter((r) => r.session === second.id).map((r) => r.range);
    expect(ranges[0]).toBeNull(); // from byte 0, not from where version 1 left off
    expect(await h!.client.getDownload(id)).toMatchObject({ contentVersion: '2' });
    expect(h!.sim.inspect().calls['download_session.fail']).toBe(0);
  });

  // File.get comes after a transfer only when the item's own listing vouched for no checksum: so a
  // one-file item whose checksum the simulator computes only once asked (an OVF's manifest would
  // have it compute its files' checksums).
  it.each(['invalid_argument', 'not_found'] as const)('fails at once, naming the file, when vCenter answers File.get with %s for a file of a live session', async (error) => {
    const { wait } = await download({ simulator: { items: [BIG], checksumsAtStart: false } });
    h!.sim.faults.add({ kind: 'error', op: 'file.get', error });
    await expect(wait()).rejects.toThrow(/vCenter no longer knows big\.iso in download session/);
    expect(h!.sim.inspect().sessions).toHaveLength(1); // not mistaken for a lost session
    expect(h!.sim.inspect().sessions[0]!.state).toBe('ERROR');
  });
});
