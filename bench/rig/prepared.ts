import { randomUUID } from 'node:crypto';
import type { TransferEndpoint } from '../../src/vsphere/index.ts';
import { VCenterClient } from '../../src/vsphere/index.ts';
import type { BenchItem, BenchServer } from './server.ts';

/** One prepared file of a download session: what a plain HTTP client needs to GET it. */
export interface PreparedFile {
  sessionId: string;
  file: string;
  size: number;
  endpoint: TransferEndpoint;
  headers: Record<string, string>;
}

/**
 * Download sessions made ready for curl (and the transfer micro-benchmark) with cldl's own vSphere
 * client: create, prepare, wait until PREPARED. `keepAlive()` before each use, `close()` deletes them.
 */
export class PreparedSessions {
  readonly vcenter: VCenterClient;
  readonly files: PreparedFile[] = [];

  constructor(server: BenchServer) {
    this.vcenter = new VCenterClient({
      url: server.url,
      ...server.credentials,
      api: server.api,
      ...(server.certPem ? { tls: { ca: server.certPem } } : {}),
      connections: { api: 8 },
    });
  }

  async prepare(items: readonly BenchItem[]): Promise<PreparedFile[]> {
    const vc = this.vcenter;
    const out: PreparedFile[] = new Array<PreparedFile>(items.length);
    let next = 0;
    // A few at a time: 1000 sessions are made in seconds without queueing 1000 requests at once.
    const lane = async () => {
      for (let i = next++; i < items.length; i = next++) {
        const item = items[i]!;
        const sessionId = await vc.sessions.create(item.id, randomUUID());
        await vc.files.prepare(sessionId, item.file);
        const [info] = await vc.files.waitPrepared(sessionId, [item.file], { timeoutMs: 60_000, pollMs: 20, maxPollMs: 200 });
        const endpoint = vc.dataEndpoint(info!.downloadEndpoint);
        out[i] = { sessionId, file: item.file, size: item.size, endpoint: info!.downloadEndpoint, headers: await endpoint.headers() };
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    this.files.push(...out);
    return out;
  }

  async keepAlive(): Promise<void> {
    await Promise.all(this.files.map((f) => this.vcenter.sessions.keepAlive(f.sessionId)));
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => this.vcenter.sessions.delete(f.sessionId).catch(() => undefined)));
    await this.vcenter.close();
  }
}
