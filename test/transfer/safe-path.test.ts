import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertSafeDestination, assertSafeFileName, prepareDestinationDir, UnsafePathError } from '../../src/transfer/index.ts';

let root: string;
let outside: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cldl-root-'));
  outside = await mkdtemp(path.join(tmpdir(), 'cldl-outside-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('file names from the server', () => {
  it.each([
    ['../../etc/passwd', 'it contains a path separator'],
    ['/etc/passwd', 'it contains a path separator'],
    ['a\\b', 'it contains a path separator'],
    ['evil\0.vmdk', 'it contains a NUL byte'],
    ['..', 'it names a directory'],
    ['.', 'it names a directory'],
    ['', 'it is empty'],
    ['x'.repeat(256), 'it is longer than 255 bytes'],
    ['line\nbreak', 'it contains a control character'],
  ])('refuses %j: %s', (name, why) => {
    expect(() => assertSafeFileName(name)).toThrow(UnsafePathError);
    expect(() => assertSafeFileName(name)).toThrow(`refusing file name ${JSON.stringify(name)} from the server: ${why}`);
  });

  it.each(['photon-5.0.iso', 'tiny-disk1.vmdk', 'descriptor.ovf', '..hidden', 'name with spaces.mf', 'ünïcödé.iso'])('accepts %j', (name) => {
    expect(() => assertSafeFileName(name)).not.toThrow();
  });
});

describe('destinations from jobs', () => {
  it.each([
    ['/etc', 'it is absolute'],
    ['../escape', 'it contains ".."'],
    ['a/../../b', 'it contains ".."'],
    ['a\\..\\b', 'it contains ".."'],
    ['C:\\windows', 'it is absolute'],
    ['nul\0byte', 'it contains a NUL byte'],
    ['  ', 'it is empty'],
  ])('refuses %j: %s', (dest, why) => {
    expect(() => assertSafeDestination(dest)).toThrow(new RegExp(`destination .* is not allowed: ${why.replace(/[.*()]/g, '\\$&')}`));
  });

  it('creates a nested destination inside the root and returns its real path', async () => {
    const dir = await prepareDestinationDir(root, 'isos/photon');
    expect(dir).toBe(path.join(await realpath(root), 'isos', 'photon'));
  });

  it('refuses a destination that a symbolic link leads out of the root', async () => {
    await symlink(outside, path.join(root, 'link'));
    await expect(prepareDestinationDir(root, 'link/sub')).rejects.toThrow(/leads outside the download root through a symbolic link/);
    await mkdir(path.join(root, 'ok'));
    await symlink(path.join(root, 'ok'), path.join(root, 'inner-link'));
    await expect(prepareDestinationDir(root, 'inner-link')).resolves.toBe(path.join(await realpath(root), 'ok'));
  });
});
