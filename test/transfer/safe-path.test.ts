import { constants } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertSafeDestination, assertSafeFileName, DestinationDir, UnsafePathError } from '../../src/transfer/index.ts';

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
    const dir = await DestinationDir.open(root, 'isos/photon');
    expect(dir.path).toBe(path.join(await realpath(root), 'isos', 'photon'));
  });

  it('follows a link to the root itself, but no link below it', async () => {
    const viaLink = path.join(outside, 'root-link');
    await symlink(root, viaLink);
    expect((await DestinationDir.open(viaLink, 'a')).path).toBe(path.join(await realpath(root), 'a'));
    await mkdir(path.join(root, 'ok'));
    await symlink(path.join(root, 'ok'), path.join(root, 'inner-link'));
    await expect(DestinationDir.open(root, 'inner-link')).rejects.toThrow(/inner-link is a symbolic link \(links below the download root are not followed\)/);
  });

  it('refuses a destination through a link out of the root before creating anything beyond it', async () => {
    await symlink(outside, path.join(root, 'link'));
    await expect(DestinationDir.open(root, 'link/sub/deeper')).rejects.toThrow(UnsafePathError);
    expect(await readdir(outside)).toEqual([]); // mkdir -p before the check used to create outside/sub/deeper
  });

  it('refuses a destination whose component is a file', async () => {
    await writeFile(path.join(root, 'file'), 'x');
    await expect(DestinationDir.open(root, 'file/sub')).rejects.toThrow(/is not a directory/);
  });
});

describe('a destination directory in use', () => {
  it('gives each download its own hidden part, whatever the file is called', async () => {
    const dir = await DestinationDir.open(root, 'd');
    const a = dir.file('disk.bin', 'download-a');
    const b = dir.file('disk.bin', 'download-b');
    expect(a.finalPath).toBe(b.finalPath);
    expect(a.partPath).not.toBe(b.partPath);
    expect(path.basename(a.partPath)).toMatch(/^\.disk\.bin\.[0-9a-f]{12}\.cldl-part$/);
    // An item holding both X and X.part, and someone else's X.part, never meet a part of cldl's.
    expect(dir.file('disk.bin.part', 'download-a').partPath).not.toBe(a.partPath);
    expect([a.partPath, b.partPath]).not.toContain(path.join(dir.path, 'disk.bin.part'));
    expect(Buffer.byteLength(path.basename(dir.file('é'.repeat(127), 'x').partPath))).toBeLessThanOrEqual(255);
  });

  it('refuses to open a file after its directory was swapped for a link, and writes nothing outside', async () => {
    const dir = await DestinationDir.open(root, 'iso/photon');
    // While vCenter prepares the files, someone who can write under the root swaps the directory.
    await rename(path.join(root, 'iso', 'photon'), path.join(root, 'iso', 'moved'));
    await symlink(outside, path.join(root, 'iso', 'photon'));
    const { partPath } = dir.file('photon.iso', 'dl-1');
    await expect(dir.openFile(partPath, constants.O_RDWR | constants.O_CREAT, 0o640)).rejects.toThrow(/was replaced while cldl was using it/);
    expect(await readdir(outside)).toEqual([]);
    await expect(dir.commit(partPath, path.join(dir.path, 'photon.iso'), true)).rejects.toThrow(UnsafePathError);
  });

  it('refuses to open a part that is a link', async () => {
    const dir = await DestinationDir.open(root, 'd');
    const { partPath } = dir.file('a.iso', 'dl-1');
    await symlink(path.join(outside, 'target'), partPath);
    await expect(dir.openFile(partPath, constants.O_RDWR | constants.O_CREAT, 0o640)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(await readdir(outside)).toEqual([]);
  });
});
