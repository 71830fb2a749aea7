// `cldl worker` runs with the worker's V8 flags (src/service/node-flags.ts) however it is started:
// the built bin as systemd or a person starts it, npm start, the image. Without them one 1 GiB
// download peaks about 55 MiB higher. A regression looks like a worker whose /proc/PID/cmdline has
// no --max-semi-space-size, or one that no longer exits 0 on SIGTERM.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_NODE_FLAGS } from '../../src/service/node-flags.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { runCli, startCliWorker, type CliWorker } from '../support/cli.ts';
import { connectRedis, dropPrefix, REDIS_URL, testPrefix } from '../support/redis.ts';
import { simulatorWorkerEnv } from '../support/worker-env.ts';
import { repoRoot } from '../support/shared-tools.ts';

const MB = 1024 * 1024;
/** Preloaded by every Node process of a run (through NODE_OPTIONS): one stderr line per start. */
const BOOT_MARKER = "--import=data:text/javascript,process.stderr.write('node-boot%20'+process.pid+'%5Cn')";

let sim: Simulator;
let root: string;
const prefix = testPrefix();
let w: CliWorker | undefined;

beforeAll(async () => {
  sim = await startSimulator({ prepareDelayMs: 5, items: [{ name: 'small.iso', files: [{ name: 'small.iso', size: 2 * MB }] }], users: { user: 'pass' } });
  root = await mkdtemp(path.join(tmpdir(), 'cldl-root-'));
});
afterEach(async () => {
  await w?.stop('SIGKILL');
  w = undefined;
});
afterAll(async () => {
  await sim.stop();
  const redis = connectRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await rm(root, { recursive: true, force: true });
});

function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...simulatorWorkerEnv(sim, prefix, root),
    NODE_OPTIONS: BOOT_MARKER,
    ...extra,
  };
}

/** The environment the process now holding `pid` was started with. */
async function environ(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter(Boolean);
}

/** The command line of the process now holding `pid`: what Node and V8 were started with. */
async function cmdline(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
}

function boots(output: string): string[] {
  return [...output.matchAll(/^node-boot (\d+)$/gm)].map((m) => m[1]!);
}

async function downloadSmallIso(worker: CliWorker): Promise<void> {
  const res = await fetch(`${worker.url}/downloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ libraryItemId: sim.item('small.iso').id, destination: `small-${worker.child.pid}`, overwrite: true }),
  });
  const { id } = (await res.json()) as { id: string };
  await expect
    .poll(async () => ((await (await fetch(`${worker.url}/downloads/${id}`)).json()) as { state: string }).state, { timeout: 20_000 })
    .toBe('completed');
}

describe('cldl worker started without Node flags', () => {
  it('re-executes itself in place with the worker flags, keeps NODE_OPTIONS, downloads, and exits 0 on SIGTERM', async () => {
    w = await startCliWorker(workerEnv());
    const pid = w.child.pid!;
    // Same PID, the flags on its command line: the process that serves is the re-executed one.
    expect(await cmdline(pid)).toEqual(expect.arrayContaining([...WORKER_NODE_FLAGS]));
    expect(boots(w.output())).toEqual([String(pid), String(pid)]);
    // glibc read it at the start of the process that serves (this machine's Node uses glibc).
    expect(await environ(pid)).toContain('MALLOC_ARENA_MAX=2');
    // It says so, NODE_OPTIONS included.
    const ready = w.lines.find((l) => l.msg === 'cldl worker ready')!;
    expect(ready.nodeFlags).toEqual([...WORKER_NODE_FLAGS, BOOT_MARKER]);
    await downloadSmallIso(w);
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('leaves a semi-space size the operator chose in NODE_OPTIONS alone, without re-executing', async () => {
    w = await startCliWorker(workerEnv({ NODE_OPTIONS: `${BOOT_MARKER} --max-semi-space-size=4`, MALLOC_ARENA_MAX: '2' }));
    expect(await cmdline(w.child.pid!)).not.toEqual(expect.arrayContaining([...WORKER_NODE_FLAGS]));
    expect(boots(w.output())).toHaveLength(1);
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it("keeps an operator's MALLOC_ARENA_MAX, and re-executes for it alone when the flags are there already", async () => {
    w = await startCliWorker(workerEnv({ MALLOC_ARENA_MAX: '8' }));
    expect(await environ(w.child.pid!)).toContain('MALLOC_ARENA_MAX=8');
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    w = await startCliWorker(workerEnv({ NODE_OPTIONS: `${BOOT_MARKER} --max-semi-space-size=1` }));
    expect(await environ(w.child.pid!)).toContain('MALLOC_ARENA_MAX=2');
    expect(boots(w.output())).toHaveLength(2);
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('runs with no added flags when CLDL_NODE_FLAGS is set empty', async () => {
    w = await startCliWorker(workerEnv({ CLDL_NODE_FLAGS: '', MALLOC_ARENA_MAX: '2' }));
    const line = await cmdline(w.child.pid!);
    expect(line.filter((a) => a.startsWith('--max-semi-space-size'))).toEqual([]);
    expect(boots(w.output())).toHaveLength(1);
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('runs with the flags CLDL_NODE_FLAGS names instead, and refuses what is not a flag (exit 78)', async () => {
    w = await startCliWorker(workerEnv({ CLDL_NODE_FLAGS: '--max-semi-space-size=2 --max-old-space-size=512' }));
    expect(await cmdline(w.child.pid!)).toEqual(expect.arrayContaining(['--max-semi-space-size=2', '--max-old-space-size=512']));
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const bad = await runCli(['worker'], workerEnv({ CLDL_NODE_FLAGS: '--max-semi-space-size=2 evil.js' }));
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('CLDL_NODE_FLAGS: "evil.js" is not a Node option');
    expect(boots(bad.stderr)).toHaveLength(1);
  });
});

describe('short commands', () => {
  it('do not re-execute', async () => {
    const run = await runCli(['status', 'no-such-download'], { REDIS_URL, CLDL_REDIS_PREFIX: prefix, NODE_OPTIONS: BOOT_MARKER });
    expect(run.code).toBe(1);
    expect(boots(run.stderr)).toHaveLength(1);
  });
});

describe('the built bin, dist/cli/main.js', () => {
  // Laid out as npm installs the package (package.json `files`): dist/ and config/default.json.
  let pkg: string;
  beforeAll(async () => {
    pkg = await mkdtemp(path.join(tmpdir(), 'cldl-package-'));
    const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(pkg, 'dist')], { cwd: repoRoot });
    await copyFile(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
    await mkdir(path.join(pkg, 'config'));
    await copyFile(path.join(repoRoot, 'config/default.json'), path.join(pkg, 'config/default.json'));
    await symlink(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
  }, 180_000);
  afterAll(async () => {
    await rm(pkg, { recursive: true, force: true });
  });

  it('runs `cldl worker` with the worker flags, downloads, and exits 0 on SIGTERM', async () => {
    w = await startCliWorker(workerEnv(), path.join(pkg, 'dist/cli/main.js'));
    const pid = w.child.pid!;
    expect(await cmdline(pid)).toEqual(expect.arrayContaining([...WORKER_NODE_FLAGS, path.join(pkg, 'dist/cli/main.js'), 'worker']));
    expect(boots(w.output())).toEqual([String(pid), String(pid)]);
    await downloadSmallIso(w);
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('where Node has no process.execve (Windows)', () => {
  // A script that asks for the flags with execve unavailable, then reports from the process it
  // ends up in; `node -e` re-runs the same script there.
  const script = `
    import { reexecWithNodeFlags } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'src/cli/reexec-with-node-flags.ts')).href)};
    await reexecWithNodeFlags(${JSON.stringify(WORKER_NODE_FLAGS)}, {}, null);
    process.on('SIGTERM', () => process.exit(7));
    setInterval(() => undefined, 1000);
    console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, marker: process.env.CLDL_REEXEC ?? null }));
  `;

  async function start() {
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(parent.stdout.setEncoding('utf8'), 'data')) as [string];
    return { parent, child: JSON.parse(line) as { pid: number; execArgv: string[]; marker: string | null } };
  }

  it('runs the command in a child with the flags, relays signals to it, and exits as it did', async () => {
    const first = await start();
    expect(first.child.pid).not.toBe(first.parent.pid);
    expect(first.child.execArgv).toEqual(expect.arrayContaining([...WORKER_NODE_FLAGS]));
    expect(first.child.marker).toBeNull();
    first.parent.kill('SIGTERM');
    expect(await once(first.parent, 'exit')).toEqual([7, null]);

    // The child has no SIGHUP handler and dies of it: so does the parent.
    const second = await start();
    second.parent.kill('SIGHUP');
    expect(await once(second.parent, 'exit')).toEqual([null, 'SIGHUP']);
    expect(() => process.kill(second.child.pid, 0)).toThrow(/ESRCH/);
  });
});
