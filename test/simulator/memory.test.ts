import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/shared-tools.ts';
import { VapiCaller } from './wire.ts';

const MIB = 1024 * 1024;

/** A process's resident set (VmRSS) and its peak (VmHWM), in bytes, from /proc. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

// Measured in a process of its own: in the test's process, the client's garbage would be counted too.
describe.skipIf(!existsSync('/proc/self/status'))('memory', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('a 20 GiB item served at full speed costs the simulator no more memory than a small one', async () => {
    child = spawn(process.execPath, [path.join(repoRoot, 'src/simulator/main.ts'), '--generate', '1x20G', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve) => child!.stdout!.on('data', (c: string) => ((out += c), out.includes('\n') && resolve())));
    const { url, items } = JSON.parse(out) as { url: string; items: Array<{ id: string; files: Array<{ name: string; size: number }> }> };
    const size = items[0]!.files[0]!.size;
    expect(size).toBe(20 * 1024 ** 3);
    const c = new VapiCaller(url, 'api');
    await c.login();
    const { uri } = await c.preparedFile(items[0]!.id, 'gen-1.bin');
    const before = memory(child.pid!);
    // 512 MiB from near the end, while the checksum worker hashes the 20 GiB from the start.
    const d = await c.download(uri, { range: `bytes=${size - 512 * MIB}-` });
    expect(d.status).toBe(206);
    expect(d.bytes).toBe(512 * MIB);
    const after = memory(child.pid!);
    expect(after.peak - before.rss).toBeLessThan(64 * MIB);
  });
});
