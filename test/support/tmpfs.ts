import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real, small filesystem (tmpfs, `size` bytes) to fill up: a disk-full test that the kernel
 * decides, not a mock. Needs root (CI runs as root); fails loudly otherwise.
 */
export async function mountSmallDisk(size: number): Promise<{ dir: string; unmount(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cldl-small-disk-'));
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return {
    dir,
    async unmount() {
      await run('umount', [dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
