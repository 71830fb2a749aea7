// node bench/experiments/page-cache-temperature.ts [--mib 1024] [--rounds 3]
// How fast this machine writes into the page cache (synchronous positioned writev, one thread, no
// fsync), by bytes per call and by how long memory was left free before (the balloon driver's free
// page reporting hands idle free memory back to the host). Not cldl: the ground both sides stand on.
import { closeSync, openSync, rmSync, writevSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { makeScratch, removeTree, syncDisk } from '../rig/disk.ts';
import { summarize } from '../rig/stats.ts';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, rounds: { type: 'string', default: '3' } } });
const total = Number(values.mib) << 20;
const scratch = await makeScratch();
const file = path.join(scratch, 'out.bin');

/** Writes `total` bytes in writev calls of `kib` KiB made of 16 KiB buffers (as TLS records arrive). */
function write(kib: number): { mbs: number; cpuSPerGB: number } {
  const bufs = Array.from({ length: Math.max(1, kib / 16) }, () => Buffer.alloc(Math.min(kib, 16) * 1024, 7));
  const fd = openSync(file, 'w');
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let pos = 0; pos < total; pos += kib * 1024) writevSync(fd, bufs, pos);
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  closeSync(fd);
  rmSync(file);
  return { mbs: total / 1e6 / (ms / 1000), cpuSPerGB: (used.user + used.system) / 1e6 / (total / 1e9) };
}

try {
  const cases: Array<{ kib: number; settleMs: number }> = [
    ...[16, 64, 256, 1024, 1536, 4096].map((kib) => ({ kib, settleMs: 8000 })),
    ...[0, 2000, 4000, 8000].map((settleMs) => ({ kib: 4096, settleMs })),
  ];
  const results = cases.map(() => [] as Array<{ mbs: number; cpuSPerGB: number }>);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [i, c] of cases.entries()) {
      if (c.settleMs === 0) write(c.kib); // a file written and deleted just before: warm memory
      await syncDisk();
      await sleep(c.settleMs);
      results[i]!.push(write(c.kib));
    }
  }
  console.log(`${values.mib} MiB per run, ${values.rounds} rounds; median (min–max)`);
  for (const [i, c] of cases.entries()) {
    const mbs = summarize(results[i]!.map((r) => r.mbs));
    const cpu = summarize(results[i]!.map((r) => r.cpuSPerGB));
    console.log(
      `${`${c.kib} KiB per call, ${c.settleMs / 1000} s after the last free`.padEnd(40)} ${mbs.median.toFixed(0).padStart(6)} MB/s (${mbs.min.toFixed(0)}–${mbs.max.toFixed(0)})  ${cpu.median.toFixed(2)} CPU s/GB`,
    );
  }
} finally {
  await removeTree(scratch);
}
