import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { locateVcsim, type VcsimManifest } from '../../test/support/vcsim.ts';
import { removeTree } from './disk.ts';
import { taskset } from './pinning.ts';
import { itemLookup, type BenchItem, type ServerSpec, type BenchServer } from './server.ts';

/**
 * govmomi's vcsim (`../shared/tools/vcsim/build.sh`, built on first use) with a library seeded from
 * generated files. It speaks /rest only, over plain HTTP, ignores Range (so cldl fetches one
 * stream), omits file sizes in File.list and reports no checksum: each data file gets a SHA-1
 * manifest beside it (`.mf`, one item per folder), which cldl verifies the file against. vcsim
 * copies the seed into its own datastore (under the temp directory, removed when it stops), so the
 * seed folder is deleted once it is ready.
 */
export async function startBenchVcsim(spec: ServerSpec, scratch: string, cores: string | undefined): Promise<BenchServer> {
  const located = await locateVcsim();
  if ('missing' in located) throw new Error(`vcsim is unavailable: ${located.missing}`);
  const manifests = spec.manifests ?? true;
  const seed = path.join(scratch, 'vcsim-seed');
  const planned: Array<{ name: string; seedName: string; file: string; size: number; sha1: string }> = [];
  for (const g of spec.groups) {
    for (let i = 1; i <= g.count; i++) {
      const name = `${g.name}-${i}`;
      const file = `${name}.bin`;
      if (manifests) {
        const dir = path.join(seed, name);
        await mkdir(dir, { recursive: true });
        const sha1 = await writeGenerated(path.join(dir, file), g.size);
        await writeFile(path.join(dir, `${name}.mf`), `SHA1(${file})= ${sha1}\n`);
        planned.push({ name, seedName: name, file, size: g.size, sha1 });
      } else {
        await mkdir(seed, { recursive: true });
        const sha1 = await writeGenerated(path.join(seed, file), g.size);
        planned.push({ name, seedName: file, file, size: g.size, sha1 });
      }
    }
  }
  const manifestPath = path.join(scratch, `vcsim-manifest-${process.pid}.json`);
  const cmd = taskset(cores, located.bin, ['-l', '127.0.0.1:0', '-seed', seed, '-manifest', manifestPath]);
  const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // vcsim removes its datastore on SIGTERM
      await once(child, 'exit');
    }
    await removeTree(seed);
  };
  let manifest: VcsimManifest | undefined;
  try {
    const deadline = Date.now() + 300_000;
    while (!manifest) {
      if (child.exitCode !== null) throw new Error(`vcsim exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`vcsim wrote no manifest within 300 s: ${stderr}`);
      try {
        manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as VcsimManifest; // written once seeding is done
      } catch {
        await sleep(100);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  await removeTree(seed);
  const m = manifest;
  const items: BenchItem[] = planned.map((p) => {
    const entry = m.items[p.seedName];
    if (!entry) throw new Error(`vcsim's manifest has no item ${p.seedName}`);
    return { id: entry.id, name: p.name, file: p.file, size: p.size, sha1: p.sha1, verifiable: manifests };
  });
  return {
    name: 'vcsim',
    protocol: 'http',
    url: m.url,
    api: 'rest',
    credentials: { username: m.user, password: m.password },
    certPem: null,
    caFile: undefined,
    pid: child.pid!,
    items,
    item: itemLookup(items),
    stop,
  };
}

const BLOCK = 4 << 20;

/** Writes `size` bytes no two 4 MiB blocks of which are alike; returns their SHA-1. */
async function writeGenerated(file: string, size: number): Promise<string> {
  const base = randomBytes(Math.min(size, BLOCK));
  const hash = createHash('sha1');
  const fd = await open(file, 'w');
  try {
    for (let offset = 0, n = 0; offset < size; offset += BLOCK, n++) {
      const block = base.subarray(0, Math.min(BLOCK, size - offset));
      if (block.length >= 8) block.writeDoubleLE(n, 0);
      hash.update(block);
      await fd.write(block, 0, block.length, offset);
    }
  } finally {
    await fd.close();
  }
  return hash.digest('hex');
}
