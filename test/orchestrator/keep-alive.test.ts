import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeepAlive, type HeartbeatTarget, type KeepAliveEvents } from '../../src/orchestrator/keep-alive.ts';
import type { SessionLostError } from '../../src/orchestrator/index.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { VCenterClient } from '../../src/vsphere/index.ts';

// The heartbeat against real download sessions on the simulator; the target is a plain object,
// the narrow seam KeepAlive is written against.
let sim: Simulator;
let client: VCenterClient;
let keepAlive: KeepAlive;

beforeEach(async () => {
  sim = await startSimulator({ sessionIdleTimeoutMs: 3000, items: [{ name: 'a.iso', files: [{ name: 'a.iso', size: 10 }] }] });
  client = new VCenterClient({ url: sim.url, username: 'user', password: 'pass', api: 'api', retry: { attempts: 1 } });
  keepAlive = new KeepAlive({ intervalMs: 60_000, reportIntervalMs: 100, tickMs: 20, retry: { baseMs: 50, maxMs: 200 } });
});
afterEach(async () => {
  keepAlive.close();
  await client.close();
  await sim.stop();
});

function target(sessionId: string, percent: () => number) {
  let reports = 0;
  const lost: SessionLostError[] = [];
  const t: HeartbeatTarget = {
    key: 'dl-1',
    session: {
      id: () => sessionId,
      keepAlive: (id, progress) => client.sessions.keepAlive(id, progress),
      get: (id) => client.sessions.get(id),
      now: () => client.serverNow(),
    },
    percent,
    report: () => {
      reports++;
      return Promise.resolve();
    },
    sessionLost: (e) => lost.push(e),
  };
  return { t, lost, reports: () => reports };
}

const newSession = () => client.sessions.create(sim.item('a.iso').id, randomUUID());

describe('KeepAlive', () => {
  it('beats more often than the session could expire, with a progress that never goes down', async () => {
    const id = await newSession();
    const values = [0, 10, 40, 30, 55, 20, 70];
    let i = 0;
    const { t, reports } = target(id, () => values[Math.min(i++, values.length - 1)]!);
    keepAlive.track(t);
    await new Promise((r) => setTimeout(r, 7500)); // 2.5 idle timeouts
    const [s] = sim.inspect().sessions;
    expect(s!.gone).toBeNull();
    const beats = s!.keepAlives;
    expect(beats.length).toBeGreaterThanOrEqual(6); // about every second (a third of 3 s)
    const progress = beats.map((b) => b.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(70);
    expect(reports()).toBeGreaterThan(10);
  });

  it('leaves progress out while it has not grown, so a strict vCenter accepts every beat', async () => {
    const id = await newSession();
    const failed: KeepAliveEvents['failed'][0][] = [];
    keepAlive.on('failed', (e) => failed.push(e));
    let percent = 0;
    const { t } = target(id, () => percent);
    keepAlive.track(t);
    await new Promise((r) => setTimeout(r, 1300)); // at 0: no progress sent
    percent = 35;
    await new Promise((r) => setTimeout(r, 1300)); // 35 once, then left out
    expect(failed).toEqual([]);
    const [s] = sim.inspect().sessions;
    expect(s!.gone).toBeNull();
    expect(s!.progress).toBe(35);
    expect(s!.keepAlives.length).toBeGreaterThanOrEqual(3);
  });

  // vCenter reports expiration_time on its own clock. A worker whose clock runs ten minutes ahead
  // saw every session as long expired, and beat five times a second.
  it("measures a session's time left on vCenter's clock, not the worker's", async () => {
    sim.faults.add({ kind: 'clock-skew', ms: -10 * 60_000 });
    const id = await newSession();
    const beats: number[] = [];
    keepAlive.on('beat', (b) => beats.push(b.nextInMs));
    const { t } = target(id, () => 1);
    keepAlive.track(t);
    await new Promise((r) => setTimeout(r, 2500));
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.length).toBeLessThanOrEqual(4);
    expect(Math.min(...beats)).toBeGreaterThanOrEqual(900); // a third of the 3 s it really has
    expect(sim.inspect().sessions[0]!.gone).toBeNull();
  });

  it('retries a failed keep-alive before the session can expire', async () => {
    const id = await newSession();
    sim.faults.add({ kind: 'error', op: 'download_session.keep_alive', error: 'service_unavailable', times: 3 });
    const failed: KeepAliveEvents['failed'][0][] = [];
    keepAlive.on('failed', (e) => failed.push(e));
    const { t } = target(id, () => 5);
    keepAlive.track(t);
    await new Promise((r) => setTimeout(r, 2500));
    expect(failed).toHaveLength(3);
    expect(failed.every((f) => f.retryInMs <= 400)).toBe(true);
    expect(sim.inspect().sessions[0]!.gone).toBeNull();
  });

  it('reports a session canceled on vCenter as ended, not renewable', async () => {
    const id = await newSession();
    const { t, lost } = target(id, () => 1);
    keepAlive.track(t);
    sim.cancelSession(id);
    await once(keepAlive, 'lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ code: 'CLDL_SESSION_ENDED', renewable: false });
    expect(lost[0]!.message).toMatch(/as CANCELED/);
    expect(keepAlive.size).toBe(0);
  });

  it('reports a vanished session as renewable', async () => {
    const id = await newSession();
    const { t, lost } = target(id, () => 1);
    sim.expireSession(id);
    keepAlive.track(t);
    await once(keepAlive, 'lost');
    expect(lost[0]).toMatchObject({ code: 'CLDL_SESSION_EXPIRED', renewable: true });
  });

  // A download's session was just created or just read: a download over within a second needs no
  // keep-alive but its last, and that one reads nothing back (the session is deleted next).
  it('beats first after firstBeatInMs, and the last beat is one keep_alive with the final progress', async () => {
    const id = await newSession();
    let percent = 40;
    const { t } = target(id, () => percent);
    const started = Date.now();
    keepAlive.track(t, { firstBeatInMs: 1000 });
    const [beat] = (await once(keepAlive, 'beat')) as KeepAliveEvents['beat'];
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(beat).toMatchObject({ progress: 40 });
    const gets = sim.inspect().calls['download_session.get'];
    percent = 100;
    const last = once(keepAlive, 'lastBeat');
    await keepAlive.lastBeat(t);
    expect(await last).toEqual([{ key: 'dl-1', sessionId: id, progress: 100 }]);
    expect(sim.inspect().sessions[0]!.keepAlives.map((k) => k.progress)).toEqual([40, 100]);
    expect(sim.inspect().calls['download_session.get']).toBe(gets);
    await keepAlive.lastBeat(t); // nothing grew: nothing sent
    expect(sim.inspect().sessions[0]!.keepAlives).toHaveLength(2);
  });

  it("adopts vCenter's higher progress when another worker reported it first", async () => {
    const id = await newSession();
    await client.sessions.keepAlive(id, 60); // the previous worker
    const { t } = target(id, () => 10);
    keepAlive.track(t);
    await new Promise((r) => setTimeout(r, 1500));
    const progress = sim.inspect().sessions[0]!.keepAlives.map((k) => k.progress);
    expect(progress.every((p) => p === 60)).toBe(true);
    expect(sim.inspect().sessions[0]!.gone).toBeNull();
  });
});
