import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  downloadFile,
  DownloadPart,
  type ByteCounter,
  type FileDownloadOptions,
  type RetryEvent,
} from '../../src/transfer/index.ts';
import type { DataEndpoint } from '../../src/vsphere/index.ts';
import { serveBytes, testBytes } from '../support/byte-server.ts';
import { startHttpServer, type Handler, type TestServer } from '../support/http-server.ts';

let dir: string;
let server: TestServer | undefined;
let agent: Agent;
const FILE = testBytes(3 * 1024 * 1024 + 123);

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cldl-transfer-'));
  agent = new Agent({ bodyTimeout: 2000, headersTimeout: 2000 });
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  await agent.close();
  await rm(dir, { recursive: true, force: true });
});

async function serve(handler: Handler): Promise<DataEndpoint & { tokens: string[] }> {
  server = await startHttpServer(handler);
  const tokens = ['t1'];
  return {
    url: `${server.url}/data/disk.vmdk?session=abc`,
    dispatcher: agent,
    tokens,
    headers: () => Promise.resolve({ 'vmware-api-session-id': tokens[tokens.length - 1]! }),
    unauthorized: (h) => {
      tokens.push(`t${tokens.length + 1}`);
      expect(h['vmware-api-session-id']).toBe(tokens[tokens.length - 2]);
      return Promise.resolve();
    },
  };
}

function rangeStarts(): number[] {
  return server!.requests.flatMap((r) => (r.headers.range ? [Number(/bytes=(\d+)-/.exec(r.headers.range)![1])] : []));
}

function options(extra: Partial<FileDownloadOptions> = {}): FileDownloadOptions {
  return { fileName: 'disk.vmdk', attempts: 5, backoff: { baseMs: 10, maxMs: 50 }, expectedSize: FILE.data.length, ...extra };
}

async function openPart(counter: ByteCounter = { bytes: 0 }, resume = false) {
  return DownloadPart.open(path.join(dir, 'disk.vmdk.part'), { algorithms: ['sha1', 'sha256'], resume, counter, expectedSize: FILE.data.length });
}

describe('downloadFile', () => {
  it('streams a file to its .part, hashing on the fly, and makes it durable', async () => {
    const source = await serve((req, res) => serveBytes(req, res, FILE.data));
    const counter = { bytes: 0 };
    const part = await openPart(counter);
    await downloadFile(part, source, options());
    expect(part.position).toBe(FILE.data.length);
    expect(part.digests()).toEqual({ sha1: FILE.sha1, sha256: FILE.sha256 });
    expect(counter.bytes).toBe(FILE.data.length);
    await part.close();
    expect((await readFile(part.path)).equals(FILE.data)).toBe(true);
    expect(server!.requests[0]!.headers['vmware-api-session-id']).toBe('t1');
    expect(server!.requests[0]!.headers.range).toBeUndefined();
  });

  it('stops at the listed size when a chunked answer sends junk past the end, and does not retry', async () => {
    let sent = 0;
    const junk = Buffer.alloc(1 << 20, 0x5a);
    const source = await serve((_req, res) => {
      res.writeHead(200); // chunked: no Content-Length to check against
      res.write(FILE.data);
      sent = FILE.data.length;
      const pump = () => {
        while (sent < FILE.data.length + 256 * junk.length) {
          sent += junk.length;
          if (!res.write(junk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const retries: RetryEvent[] = [];
    const part = await openPart();
    const err = await downloadFile(part, source, options({ onRetry: (e) => retries.push(e) })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CLDL_SIZE_EXCEEDED', retryable: false });
    expect((err as Error).message).toMatch(`disk.vmdk: the server sent more than the ${FILE.data.length} bytes the file holds`);
    expect(retries).toEqual([]);
    expect(server!.requests).toHaveLength(1);
    await part.close();
    expect((await stat(part.path)).size).toBeLessThanOrEqual(FILE.data.length);
    expect(sent).toBeLessThan(FILE.data.length + 64 * junk.length); // the connection was cut, not drained
  });

  it('resumes a chunked answer that ends short of the listed size', async () => {
    let first = true;
    const source = await serve((req, res) => {
      if (!first) return serveBytes(req, res, FILE.data);
      first = false;
      res.writeHead(200);
      res.end(FILE.data.subarray(0, 1_000_000));
    });
    const retries: RetryEvent[] = [];
    const part = await openPart();
    await downloadFile(part, source, options({ onRetry: (e) => retries.push(e) }));
    expect(retries.map((r) => r.error.message)).toEqual([`disk.vmdk: the body ended after 1000000 of ${FILE.data.length} bytes`]);
    expect(rangeStarts()).toEqual([1_000_000]);
    expect(part.digests().sha1).toBe(FILE.sha1);
    await part.close();
  });

  it('resumes with Range after a connection reset, without hashing anything twice', async () => {
    let resets = 0;
    const source = await serve((req, res) => serveBytes(req, res, FILE.data, resets++ < 2 ? { resetAfter: 1_000_000 } : {}));
    const retries: RetryEvent[] = [];
    const part = await openPart();
    await downloadFile(part, source, options({ onRetry: (e) => retries.push(e) }));
    expect(part.digests().sha1).toBe(FILE.sha1);
    // A reset loses what the server had not flushed: each resume starts where the client's bytes end.
    const starts = rangeStarts();
    expect(starts).toHaveLength(2);
    expect(starts[0]).toBeGreaterThan(0);
    expect(starts[0]).toBeLessThanOrEqual(1_000_000);
    expect(starts[1]).toBeGreaterThan(starts[0]!);
    expect(starts[1]).toBeLessThanOrEqual(starts[0]! + 1_000_000);
    expect(retries.map((r) => r.reason)).toEqual(['connection', 'connection']);
    await part.close();
    expect((await readFile(part.path)).equals(FILE.data)).toBe(true);
  });

  it('starts the file over when the server answers a Range with 200', async () => {
    let first = true;
    const source = await serve((req, res) => {
      serveBytes(req, res, FILE.data, { ignoreRange: true, ...(first ? { resetAfter: 2_000_000 } : {}) });
      first = false;
    });
    const counter = { bytes: 0 };
    const part = await openPart(counter);
    await downloadFile(part, source, options());
    expect(rangeStarts()).toHaveLength(1);
    expect(part.digests().sha256).toBe(FILE.sha256);
    expect(counter.bytes).toBe(FILE.data.length);
    await part.close();
    expect((await readFile(part.path)).equals(FILE.data)).toBe(true);
  });

  it('refuses a 206 whose Content-Range does not start where it asked, and starts over', async () => {
    let n = 0;
    const source = await serve((req, res) => {
      n++;
      if (n === 1) return serveBytes(req, res, FILE.data, { resetAfter: 500_000 });
      if (n === 2) {
        res.writeHead(206, { 'content-range': `bytes 0-99/${FILE.data.length}`, 'content-length': 100 });
        return res.end(FILE.data.subarray(0, 100));
      }
      serveBytes(req, res, FILE.data);
    });
    const retries: RetryEvent[] = [];
    const part = await openPart();
    await downloadFile(part, source, options({ onRetry: (e) => retries.push(e) }));
    expect(retries.map((r) => r.reason)).toEqual(['connection', 'range']);
    expect(retries[1]!.error.message).toMatch(new RegExp(`asked for bytes from ${rangeStarts()[0]}, got Content-Range "bytes 0-99/`));
    expect(server!.requests[2]!.headers.range).toBeUndefined();
    expect(part.digests().sha1).toBe(FILE.sha1);
    await part.close();
  });

  it('logs in again after a 401 on the data URL and resumes', async () => {
    const source = await serve((req, res) => {
      if (req.headers['vmware-api-session-id'] === 't1' && req.headers.range) res.writeHead(401).end();
      else serveBytes(req, res, FILE.data, req.headers.range ? {} : { resetAfter: 1_500_000 });
    });
    const part = await openPart();
    await downloadFile(part, source, options());
    expect(source.tokens).toEqual(['t1', 't2']);
    const [resumeAt] = rangeStarts();
    expect(server!.requests.map((r) => [r.headers['vmware-api-session-id'], r.headers.range])).toEqual([
      ['t1', undefined],
      ['t1', `bytes=${resumeAt}-`],
      ['t2', `bytes=${resumeAt}-`],
    ]);
    expect(part.digests().sha1).toBe(FILE.sha1);
    await part.close();
  });

  it('retries 5xx with backoff and gives up after the configured attempts, naming the status', async () => {
    const source = await serve((_req, res) => res.writeHead(503).end());
    const part = await openPart();
    const err = await downloadFile(part, source, options({ attempts: 3 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CLDL_HTTP_STATUS', retryable: true });
    expect((err as Error).message).toMatch(/GET of disk.vmdk answered HTTP 503 \(http:\/\/127\.0\.0\.1:\d+\/data\/disk\.vmdk\) \(gave up after 3 attempts without progress\)/);
    expect((err as Error).message).not.toContain('session=abc');
    expect(server!.requests).toHaveLength(3);
    await part.close();
  });

  it('never gives up on a link that makes progress on every try, whatever the attempt budget', async () => {
    // Each answer breaks after 300 kB: ten breaks in a row, with a budget of two attempts.
    const source = await serve((req, res) => serveBytes(req, res, FILE.data, { resetAfter: 300_000 }));
    const retries: RetryEvent[] = [];
    const part = await openPart();
    await downloadFile(part, source, options({ attempts: 2, onRetry: (e) => retries.push(e) }));
    expect(part.digests().sha1).toBe(FILE.sha1);
    expect(server!.requests.length).toBeGreaterThan(10);
    expect(retries.every((r) => r.attempt === 1)).toBe(true);
    await part.close();
  });

  it('does not retry a 404', async () => {
    const source = await serve((_req, res) => res.writeHead(404).end());
    const part = await openPart();
    await expect(downloadFile(part, source, options())).rejects.toMatchObject({ code: 'CLDL_HTTP_STATUS', status: 404, retryable: false });
    expect(server!.requests).toHaveLength(1);
    await part.close();
  });

  it('rides out a stalled body through the idle timeout and resumes', async () => {
    let first = true;
    const source = await serve((req, res) => {
      if (first) {
        first = false;
        res.writeHead(200, { 'content-length': FILE.data.length });
        res.write(FILE.data.subarray(0, 800_000)); // then silence
        return;
      }
      serveBytes(req, res, FILE.data);
    });
    const part = await openPart();
    await downloadFile(part, source, options());
    expect(server!.requests[1]!.headers.range).toBe('bytes=800000-');
    expect(part.digests().sha1).toBe(FILE.sha1);
    await part.close();
  });

  it('detects a body that is shorter or longer than vCenter said', async () => {
    const source = await serve((req, res) => serveBytes(req, res, FILE.data.subarray(0, 1000)));
    const part = await openPart();
    const err = await downloadFile(part, source, options({ attempts: 1 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CLDL_SIZE_MISMATCH' });
    expect((err as Error).message).toMatch(/the server sends 1000 bytes, but vCenter listed 3145851/);
    await part.close();
  });

  it('resumes from the bytes another process left, hashing them once from disk', async () => {
    await writeFile(path.join(dir, 'disk.vmdk.part'), FILE.data.subarray(0, 2_500_000));
    const source = await serve((req, res) => serveBytes(req, res, FILE.data));
    const counter = { bytes: 0 };
    const part = await openPart(counter, true);
    expect(part.resumedFrom).toBe(2_500_000);
    await downloadFile(part, source, options());
    expect(server!.requests.map((r) => r.headers.range)).toEqual(['bytes=2500000-']);
    expect(part.digests().sha1).toBe(FILE.sha1);
    expect(counter.bytes).toBe(FILE.data.length);
    await part.close();
  });

  it('makes no request for a file a previous process finished but did not rename', async () => {
    await writeFile(path.join(dir, 'disk.vmdk.part'), FILE.data);
    const source = await serve((req, res) => serveBytes(req, res, FILE.data));
    const part = await openPart({ bytes: 0 }, true);
    await downloadFile(part, source, options());
    expect(server!.requests).toHaveLength(0);
    expect(part.digests().sha256).toBe(FILE.sha256);
    await part.close();
  });

  it('drops a leftover .part when not resuming, or when it is longer than the file', async () => {
    await writeFile(path.join(dir, 'disk.vmdk.part'), Buffer.alloc(FILE.data.length + 10, 7));
    const part = await openPart({ bytes: 0 }, true);
    expect(part.position).toBe(0);
    expect((await stat(part.path)).size).toBe(0);
    await part.close();
  });

  it('stops at once when aborted, keeping the bytes for a later resume', async () => {
    const source = await serve((req, res) => {
      res.writeHead(200, { 'content-length': FILE.data.length });
      res.write(FILE.data.subarray(0, 1_000_000));
    });
    const ac = new AbortController();
    const part = await openPart();
    const pending = downloadFile(part, source, options({ signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 200));
    const reason = new Error('canceled by the operator');
    ac.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(part.position).toBe(1_000_000);
    await part.close();
  });

  it('turns ENOSPC into DiskFullError naming the path, without retrying', async () => {
    const source = await serve((req, res) => serveBytes(req, res, FILE.data));
    // /dev/full is the kernel's always-full device: every write fails with ENOSPC.
    const part = await DownloadPart.open('/dev/full', { algorithms: ['sha1'], resume: true, counter: { bytes: 0 } });
    const err = await downloadFile(part, source, options()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CLDL_DISK_FULL', retryable: false });
    expect((err as Error).message).toBe('no space left on the device holding /dev/full while writing disk.vmdk; free space there and retry the download');
    expect(server!.requests).toHaveLength(1);
    // Bytes are hashed while their write is in flight: a failed write must not leave them in the
    // hashes, or a later resume would verify bytes the file never held.
    expect(part.position).toBe(0);
    expect(part.digests().sha1).toBe(createHash('sha1').digest('hex'));
    await part.close();
  });

  it('draws from a throttle what it receives, no more: a lease an answer ended inside goes back', async () => {
    // A cap shared by many short answers (segments, small files) held ~6% under its rate while each
    // kept the rest of its last lease.
    const drawn = { acquired: 0, refunded: 0 };
    const throttle = {
      leaseBytes: 1_000_000,
      acquire: (bytes: number) => ((drawn.acquired += bytes), Promise.resolve()),
      refund: (bytes: number) => void (drawn.refunded += bytes),
    };
    const source = await serve((req, res) => serveBytes(req, res, FILE.data));
    const part = await openPart();
    await downloadFile(part, source, options({ throttle }));
    expect(drawn.acquired).toBeGreaterThan(FILE.data.length);
    expect(drawn.acquired - drawn.refunded).toBe(FILE.data.length);

    drawn.acquired = drawn.refunded = 0;
    const again = await DownloadPart.open(path.join(dir, 'again.part'), { algorithms: ['sha1'], resume: false, counter: { bytes: 0 } });
    await downloadFile(again, source, options({ throttle, segments: { connections: 4, minBytes: 1024 * 1024, sampleMs: 0 } }));
    expect(server!.requests.length).toBeGreaterThan(2); // in segments: four answers, each ending inside a lease
    expect(drawn.acquired - drawn.refunded).toBe(FILE.data.length);
    expect(again.digests().sha1).toBe(FILE.sha1);
    await Promise.all([part.close(), again.close()]);
  });

  describe('in segments', () => {
    // sampleMs 0: split as soon as the server shows it honours Range (by default one stream runs a quarter second first).
    const segmented = (extra: Partial<FileDownloadOptions> = {}) => options({ segments: { connections: 4, minBytes: 1024 * 1024, sampleMs: 0 }, ...extra });
    const ranges = () => server!.requests.map((r) => r.headers.range);

    it('fetches a large file over four connections when the first answer honours Range, with exact hashes', async () => {
      const source = await serve((req, res) => serveBytes(req, res, FILE.data));
      const counter = { bytes: 0 };
      const part = await openPart(counter);
      await downloadFile(part, source, segmented());
      expect(ranges()[0]).toBe('bytes=0-'); // asks, and learns the server honours it
      const q = Math.ceil(FILE.data.length / 4);
      expect(ranges().slice(1).sort()).toEqual([`bytes=0-${q - 1}`, `bytes=${q}-${2 * q - 1}`, `bytes=${2 * q}-${3 * q - 1}`, `bytes=${3 * q}-${FILE.data.length - 1}`].sort());
      expect(part.digests()).toEqual({ sha1: FILE.sha1, sha256: FILE.sha256 });
      expect(counter.bytes).toBe(FILE.data.length);
      await part.close();
      expect((await readFile(part.path)).equals(FILE.data)).toBe(true);
    });

    it('resumes each segment on its own after its connection breaks', async () => {
      const broken = new Set<string>();
      const source = await serve((req, res) => {
        const range = req.headers.range ?? '';
        const first = !broken.has(range) && range !== 'bytes=0-';
        broken.add(range);
        serveBytes(req, res, FILE.data, first ? { resetAfter: 200_000 } : {});
      });
      const part = await openPart();
      await downloadFile(part, source, segmented());
      expect(part.digests().sha1).toBe(FILE.sha1);
      // Four segments broke once each, and each went on from where its own bytes ended.
      const resumed = ranges().filter((r) => r && !/^bytes=\d+-\d+$/.test(r) === false).length;
      expect(resumed).toBeGreaterThanOrEqual(9);
      await part.close();
      expect((await readFile(part.path)).equals(FILE.data)).toBe(true);
    });

    it('resumes each segment where it stopped after the process died, from its record on disk', async () => {
      const source = await serve((req, res) => {
        if (req.headers.range === 'bytes=0-') return serveBytes(req, res, FILE.data);
        const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
        const [start, end] = [Number(m[1]), Number(m[2])];
        res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${FILE.data.length}` });
        res.write(FILE.data.subarray(start, start + 300_000)); // then nothing, until the "crash"
      });
      const ac = new AbortController();
      const first = await openPart();
      const pending = downloadFile(first, source, segmented({ signal: ac.signal })).catch((e: unknown) => e);
      await expect.poll(() => first.counter.bytes, { timeout: 5000 }).toBeGreaterThanOrEqual(4 * 300_000);
      // What it counts (and a job reports as progress) is never more than a resume would keep: the
      // bytes the sidecar records. (Read twice if a write of the sidecar was under way.)
      const counted = first.counter.bytes;
      const sidecar = await readFile(`${first.path}.segments`, 'utf8').then((t) => (t ? t : readFile(`${first.path}.segments`, 'utf8')));
      const { segments: recorded } = JSON.parse(sidecar) as { segments: Array<{ start: number; written: number }> };
      expect(counted).toBeLessThanOrEqual(recorded.reduce((n, x) => n + x.written - x.start, 0));
      ac.abort(new Error('kill -9'));
      await pending;
      await first.close(); // what a dying process leaves: the part and its record of segments
      await server!.stop();
      const left = first.segments!.map((s) => s.written);
      const q = Math.ceil(FILE.data.length / 4);
      expect(left.map((w, i) => w - i * q).every((n) => n >= 300_000 && n % 300_000 === 0)).toBe(true);

      const again = await serve((req, res) => serveBytes(req, res, FILE.data));
      const counter = { bytes: 0 };
      const part = await openPart(counter, true);
      expect(part.resumedFrom).toBe(left.reduce((n, w, i) => n + w - i * q, 0));
      await downloadFile(part, again, segmented());
      const starts = server!.requests.map((r) => Number(/^bytes=(\d+)-/.exec(r.headers.range ?? '')?.[1]));
      expect(starts.sort((a, b) => a - b)).toEqual(left); // each segment from where its own bytes ended
      expect(part.digests().sha256).toBe(FILE.sha256);
      expect(counter.bytes).toBe(FILE.data.length);
      await part.close();
    });

    it('splits one stream that proves slow over its first quarter second, from where it got to, and leaves a fast one alone', async () => {
      const slow = await serve((req, res) => {
        if (req.headers.range !== 'bytes=0-') return serveBytes(req, res, FILE.data);
        res.writeHead(206, { 'content-length': FILE.data.length, 'content-range': `bytes 0-${FILE.data.length - 1}/${FILE.data.length}` });
        res.write(FILE.data.subarray(0, 600_000)); // then a trickle: far below the threshold
      });
      const part = await openPart();
      await downloadFile(part, slow, options({ segments: { connections: 4, minBytes: 1024 * 1024, slowerThanBytesPerSecond: 10_000_000 } }));
      const starts = server!.requests.slice(1).map((r) => Number(/^bytes=(\d+)-/.exec(r.headers.range ?? '')?.[1]));
      expect(starts).toHaveLength(4);
      expect(Math.min(...starts)).toBeGreaterThan(0); // the bytes of the first quarter second are kept
      expect(part.digests().sha1).toBe(FILE.sha1);
      await part.close();
      await server!.stop();

      const fast = await serve((req, res) => serveBytes(req, res, FILE.data));
      const again = await DownloadPart.open(path.join(dir, 'fast.part'), { algorithms: ['sha1'], resume: false, counter: { bytes: 0 } });
      await downloadFile(again, fast, options({ segments: { connections: 4, minBytes: 1024 * 1024 } }));
      expect(server!.requests.map((r) => r.headers.range)).toEqual(['bytes=0-']);
      expect(again.digests().sha1).toBe(FILE.sha1);
      await again.close();
    });

    it('stays one stream when the server ignores Range', async () => {
      const source = await serve((req, res) => serveBytes(req, res, FILE.data, { ignoreRange: true }));
      const part = await openPart();
      await downloadFile(part, source, segmented());
      expect(server!.requests).toHaveLength(1);
      expect(part.digests().sha1).toBe(FILE.sha1);
      await part.close();
    });

    it('forgets its segments when it starts over as one stream, so a resume never trusts them', async () => {
      let n = 0;
      const source = await serve((req, res) => {
        n++;
        if (n === 1) return serveBytes(req, res, FILE.data); // 206 to bytes=0-: split
        if (n <= 5) return serveBytes(req, res, FILE.data, { ignoreRange: true, resetAfter: 100 }); // segments get 200s
        res.writeHead(200, { 'content-length': FILE.data.length });
        res.write(FILE.data.subarray(0, 700_000)); // one stream, then the "crash"
      });
      const ac = new AbortController();
      const first = await openPart();
      const pending = downloadFile(first, source, segmented({ signal: ac.signal })).catch((e: unknown) => e);
      await expect.poll(() => first.counter.bytes, { timeout: 5000 }).toBeGreaterThanOrEqual(500_000);
      ac.abort(new Error('kill -9'));
      await pending;
      await first.close();
      const again = await openPart({ bytes: 0 }, true);
      expect(again.segments).toBeUndefined();
      expect(again.resumedFrom).toBe(700_000);
      expect(again.digests().sha1).toBe(createHash('sha1').update(FILE.data.subarray(0, 700_000)).digest('hex'));
      await again.close();
    });

    it('starts over as one stream when a segment is answered with the whole file', async () => {
      let n = 0;
      const source = await serve((req, res) => serveBytes(req, res, FILE.data, { ignoreRange: ++n > 1 }));
      const part = await openPart();
      await downloadFile(part, source, segmented());
      expect(part.digests().sha1).toBe(FILE.sha1);
      await part.close();
      expect((await readFile(part.path)).equals(FILE.data)).toBe(true);
    });
  });
});
