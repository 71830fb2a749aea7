import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { sharedTool } from './shared-tools.ts';

export interface VcsimManifest {
  url: string;
  user: string;
  password: string;
  library_id: string;
  items: Record<string, { id: string; files: string[] }>;
}

export interface Vcsim extends VcsimManifest {
  stop(): Promise<void>;
}

/**
 * Finds (building it if needed, ~45 s once) govmomi's vcsim with a content library:
 * `../shared/tools/vcsim/build.sh`. Returns the binary, or why there is none. `.ci/run` builds it
 * beforehand and sets CLDL_REQUIRE_VCSIM=1, so in CI a missing peer fails instead of skipping.
 */
export async function locateVcsim(): Promise<{ bin: string } | { missing: string }> {
  if (process.env.VCSIM_BIN) {
    return existsSync(process.env.VCSIM_BIN) ? { bin: process.env.VCSIM_BIN } : { missing: `VCSIM_BIN=${process.env.VCSIM_BIN} does not exist` };
  }
  const build = sharedTool('vcsim', 'build.sh');
  if (!build) return { missing: 'no ../shared/tools/vcsim/build.sh beside the checkout' };
  try {
    const { stdout } = await promisify(execFile)('bash', [build], { timeout: 240_000 });
    const bin = stdout.trim().split('\n').pop()!;
    return existsSync(bin) ? { bin } : { missing: `build.sh printed ${bin}, which does not exist` };
  } catch (err) {
    return { missing: `build.sh failed: ${(err as Error).message}` };
  }
}

/** Starts vcsim on an ephemeral port with a library seeded from `seedDir`. */
export async function startVcsim(bin: string, seedDir: string): Promise<Vcsim> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cldl-vcsim-'));
  const manifestPath = path.join(dir, 'manifest.json');
  const child = spawn(bin, ['-l', '127.0.0.1:0', '-seed', seedDir, '-manifest', manifestPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const deadline = Date.now() + 60_000;
  let manifest: VcsimManifest | undefined;
  while (!manifest) {
    if (child.exitCode !== null) throw new Error(`vcsim exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`vcsim wrote no manifest within 60 s: ${stderr}`);
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as VcsimManifest; // written once seeding is done
    } catch {
      await sleep(100);
    }
  }
  return {
    ...manifest,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
