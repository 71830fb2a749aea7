import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assertChecksum,
  ChecksumMismatchError,
  commitFile,
  DestinationExistsError,
  digestAlgorithm,
  hashFile,
  parseManifest,
} from '../../src/transfer/index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cldl-verify-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('checksums', () => {
  it("maps Content Library's algorithm names to Node's", () => {
    expect(['SHA1', 'SHA256', 'SHA512', 'MD5', 'sha1', 'CRC32'].map(digestAlgorithm)).toEqual(['sha1', 'sha256', 'sha512', 'md5', 'sha1', undefined]);
  });

  it('names file, algorithm, both values and who vouched for the expected one on a mismatch', () => {
    const expected = { algorithm: 'sha1' as const, checksum: 'AA'.repeat(20), source: 'vCenter' };
    expect(() => assertChecksum('disk.vmdk', expected, 'aa'.repeat(20))).not.toThrow();
    let err: unknown;
    try {
      assertChecksum('disk.vmdk', expected, 'bb'.repeat(20));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect(err).toMatchObject({ retryable: true, restart: true, code: 'CLDL_CHECKSUM_MISMATCH' });
    expect((err as Error).message).toBe(`disk.vmdk: SHA1 is ${'bb'.repeat(20)}, but vCenter says ${'aa'.repeat(20)}`);
  });

  it('hashes a file from disk when the algorithm was not known in time', async () => {
    const data = Buffer.alloc(3_000_000, 0xab);
    await writeFile(path.join(dir, 'f'), data);
    expect(await hashFile(path.join(dir, 'f'), 'sha512')).toBe(createHash('sha512').update(data).digest('hex'));
  });
});

describe('OVF manifests', () => {
  it('reads SHA1 and SHA256 lines, CRLF included, and reports malformed ones', () => {
    const { entries, malformed } = parseManifest(
      `SHA1(tiny.ovf)= ${'A1'.repeat(20)}\r\nSHA256(tiny-disk1.vmdk)= ${'b2'.repeat(32)}\n\ngarbage line\nCRC32(x)= 1234\n`,
    );
    expect([...entries]).toEqual([
      ['tiny.ovf', { algorithm: 'sha1', checksum: 'a1'.repeat(20), source: 'the OVF manifest' }],
      ['tiny-disk1.vmdk', { algorithm: 'sha256', checksum: 'b2'.repeat(32), source: 'the OVF manifest' }],
    ]);
    expect(malformed).toEqual(['garbage line', 'CRC32(x)= 1234']);
  });
});

describe('commitFile', () => {
  it('renames the .part to its final name', async () => {
    await writeFile(path.join(dir, 'a.iso.part'), 'bytes');
    await commitFile(path.join(dir, 'a.iso.part'), path.join(dir, 'a.iso'), false);
    expect(await readFile(path.join(dir, 'a.iso'), 'utf8')).toBe('bytes');
    await expect(readFile(path.join(dir, 'a.iso.part'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never replaces an existing file without overwrite, and keeps the .part', async () => {
    await writeFile(path.join(dir, 'a.iso'), 'old');
    await writeFile(path.join(dir, 'a.iso.part'), 'new');
    await expect(commitFile(path.join(dir, 'a.iso.part'), path.join(dir, 'a.iso'), false)).rejects.toThrow(DestinationExistsError);
    expect(await readFile(path.join(dir, 'a.iso'), 'utf8')).toBe('old');
    await commitFile(path.join(dir, 'a.iso.part'), path.join(dir, 'a.iso'), true);
    expect(await readFile(path.join(dir, 'a.iso'), 'utf8')).toBe('new');
  });
});
