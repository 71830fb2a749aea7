import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planFiles } from '../../src/orchestrator/file-plan.ts';
import { DestinationDir } from '../../src/transfer/index.ts';
import type { DownloadFileInfo } from '../../src/vsphere/index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cldl-plan-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const file = (name: string, size?: number): DownloadFileInfo => ({ name, ...(size === undefined ? {} : { size }), bytesTransferred: 0, status: 'UNPREPARED' });
const item = { id: 'item-1', name: 'tpl' };
const request = { vcenter: 'default', libraryItemId: 'item-1', destination: 'd', overwrite: false };

describe('planFiles', () => {
  it('puts the OVF manifest first and takes sizes and checksums from the item when the session has none', async () => {
    const dir = await DestinationDir.open(root, 'd');
    const plan = await planFiles({
      owner: 'dl-1',
      request,
      item,
      dir,
      listed: [file('tpl.ovf'), file('tpl-disk1.vmdk', 10), file('tpl.mf', 3)],
      itemFiles: [{ name: 'tpl.ovf', size: 7, cached: true, checksumInfo: { algorithm: 'SHA256', checksum: 'ab' } }],
      previous: [],
    });
    expect(plan.map((f) => f.name)).toEqual(['tpl.mf', 'tpl.ovf', 'tpl-disk1.vmdk']);
    expect(plan[1]).toMatchObject({ size: 7, checksums: [{ algorithm: 'sha256', checksum: 'ab', source: 'the library item' }] });
  });

  // A listing naming one file twice used to wait out the whole prepare timeout (30 minutes).
  it('refuses a session listing that names a file twice, at once and for good', async () => {
    const dir = await DestinationDir.open(root, 'd');
    const planning = planFiles({ owner: 'dl-1', request, item, dir, listed: [file('a.iso', 1), file('a.iso', 1)], itemFiles: [], previous: [] });
    await expect(planning).rejects.toMatchObject({ code: 'CLDL_VAPI_PROTOCOL', retryable: false });
    await expect(planning).rejects.toThrow(/the download session lists "a.iso" twice/);
  });
});
