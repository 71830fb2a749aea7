import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { ChecksumInfo } from '../vsphere/index.ts';
import { feedHashes, type DigestAlgorithm } from './download-part.ts';
import { ChecksumMismatchError } from './errors.ts';

/** Content Library's algorithm names (SHA1, SHA256…) and OVF's (SHA1, SHA256, SHA512) to Node's. */
export function digestAlgorithm(name: string): DigestAlgorithm | undefined {
  switch (name.toUpperCase()) {
    case 'SHA1':
      return 'sha1';
    case 'SHA256':
      return 'sha256';
    case 'SHA512':
      return 'sha512';
    case 'MD5':
      return 'md5';
    default:
      return undefined;
  }
}

export interface ExpectedChecksum {
  algorithm: DigestAlgorithm;
  /** Hex, any case. */
  checksum: string;
  /** Who vouches for it, for the error message: "vCenter", "the OVF manifest". */
  source: string;
}

/** A checksum vCenter reports (checksum_info), as one a download must match. */
export function checksumFrom(info: ChecksumInfo, source: string): ExpectedChecksum {
  // vSphere's client decodes only SHA1, MD5, SHA256 and SHA512, each of which has a Node name.
  return { algorithm: digestAlgorithm(info.algorithm)!, checksum: info.checksum, source };
}

/** Throws ChecksumMismatchError unless `actual` (hex) is what `expected` says. */
export function assertChecksum(fileName: string, expected: ExpectedChecksum, actual: string): void {
  if (actual.toLowerCase() !== expected.checksum.toLowerCase()) {
    throw new ChecksumMismatchError(fileName, expected.algorithm.toUpperCase(), expected.checksum.toLowerCase(), actual, expected.source);
  }
}

/**
 * Hashes a file from disk, streamed. Only for an algorithm nobody told us before the transfer
 * (vCenter reports checksum_info once the download is complete): every other hash is computed on
 * the fly.
 */
export async function hashFile(path: string, algorithm: DigestAlgorithm, signal?: AbortSignal): Promise<string> {
  const hash = createHash(algorithm);
  await feedHashes(createReadStream(path, { highWaterMark: 1 << 20, signal }), [hash]);
  return hash.digest('hex');
}

/**
 * Reads an OVF manifest (`.mf`): lines `SHA1(disk1.vmdk)= 0123…` (also SHA256, SHA512). Returns
 * the expected checksum per file name; malformed lines are reported, not guessed at.
 */
export function parseManifest(text: string): { entries: Map<string, ExpectedChecksum>; malformed: string[] } {
  const entries = new Map<string, ExpectedChecksum>();
  const malformed: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(SHA1|SHA256|SHA512|MD5)\((.+)\)\s*=\s*([0-9a-fA-F]+)$/.exec(line);
    const algorithm = m && digestAlgorithm(m[1]!);
    if (!m || !algorithm) {
      malformed.push(line);
      continue;
    }
    entries.set(m[2]!, { algorithm, checksum: m[3]!.toLowerCase(), source: 'the OVF manifest' });
  }
  return { entries, malformed };
}

/** OVF manifests are a few lines; a larger file named *.mf is not read into memory. */
const MANIFEST_LIMIT = 1 << 20;

export interface Manifest {
  entries: Map<string, ExpectedChecksum>;
  malformed: string[];
  /** The file's size, when it was too large to read as a manifest (then `entries` is empty). */
  tooLarge?: number;
}

/** Reads the OVF manifest at `path` (a finished download), refusing to load an oversized one. */
export async function readManifest(path: string): Promise<Manifest> {
  const size = (await stat(path)).size;
  if (size > MANIFEST_LIMIT) return { entries: new Map(), malformed: [], tooLarge: size };
  return parseManifest(await readFile(path, 'utf8'));
}
