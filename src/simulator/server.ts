import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { ApiSessions } from './auth.ts';
import { CallLog } from './call-log.ts';
import { type ChecksumAlgorithm, Checksums, isChecksumAlgorithm } from './checksums.ts';
import { openContent } from './content.ts';
import { DownloadSessions } from './download-sessions.ts';
import { SimulatorConfigError, SimulatorLookupError } from './errors.ts';
import { type FaultHandle, type FaultRule, Faults } from './faults.ts';
import { inspect, type Inspection } from './inspect.ts';
import { draftFromSpec } from './item-specs.ts';
import { type ItemFile, Library } from './library.ts';
import { Operations } from './operations.ts';
import { resolveOptions, type SimulatorOptions } from './options.ts';
import { seededRandom } from './prng.ts';
import { type CompiledRoute, compileRoutes } from './router.ts';
import { apiRoutes } from './routes/api.ts';
import { DATA_PREFIX, dataPath, serveData, type DataDeps } from './routes/data.ts';
import { restRoutes } from './routes/rest.ts';
import { readSeedFolder } from './seed-folder.ts';
import { Throttle } from './throttle.ts';
import { TimerSet } from './timer-set.ts';
import { tlsMaterial } from './tls.ts';
import { vapiDispatcher } from './vapi-dispatch.ts';
import type { Dialect } from './vapi-errors.ts';

/** An item as the simulator's caller sees it (ids to look for, sizes to expect). */
export interface SimulatorItem {
  id: string;
  name: string;
  type: string;
  files: Array<{ name: string; size: number }>;
}

export interface Simulator {
  /** http(s)://host:port, no trailing slash. */
  url: string;
  /** With tls: the certificate to trust as a CA, and its SHA-1 thumbprint as File.Info reports it. */
  tls?: { certPem: string; thumbprint: string };
  /** The first user. */
  credentials: { username: string; password: string };
  items(): SimulatorItem[];
  /** Throws SimulatorLookupError if no item has that name. */
  item(name: string): SimulatorItem;
  /** The true bytes (no faults), streamed; optionally only [start, end). */
  fileContent(itemId: string, fileName: string, range?: { start?: number; end?: number }): Readable;
  /** Lower-case hex of the true bytes. Default algorithm: the configured one. */
  fileChecksum(itemId: string, fileName: string, algorithm?: string): Promise<string>;
  faults: { add(rule: FaultRule): FaultHandle; clear(): void };
  /** Every API session ends now: the next call with one gets 401. */
  invalidateApiSessions(): void;
  /** The download session disappears now, as if idle past its timeout; its transfers are cut. Throws SimulatorLookupError for an id never created. */
  expireSession(id: string): void;
  /** The download session becomes CANCELED now (if ACTIVE), as if an administrator canceled it; its transfers are cut. */
  cancelSession(id: string): void;
  inspect(): Inspection;
  /** Closes every connection, timer and worker thread, so the process can exit. */
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const o = resolveOptions(options);
  const timers = new TimerSet();
  const checksums = new Checksums();
  const library = new Library(checksums);
  try {
    if (o.seedDir !== undefined) for (const draft of await readSeedFolder(o.seedDir)) library.add(draft);
    for (const spec of o.items) library.add(draftFromSpec(spec));
  } catch (err) {
    await checksums.close();
    throw err;
  }
  const tls = o.tls ? await tlsMaterial(o.tls, o.host) : undefined;
  const apiSessions = new ApiSessions(o.users, o.apiSessionIdleTimeoutMs);
  const faults = new Faults({ random: seededRandom(o.seed), timers, invalidateApiSessions: () => apiSessions.invalidateAll() });
  const sessions = new DownloadSessions({
    library,
    timers,
    idleTimeoutMs: o.sessionIdleTimeoutMs,
    prepareDelayMs: o.prepareDelayMs,
    prepareOutcome: (_s, fileName) => faults.prepareOutcome(fileName),
  });
  let baseUrl = '';
  const ops = new Operations({
    options: o,
    library,
    sessions,
    apiSessions,
    checksums,
    timers,
    endpoint: (sid, name) => ({ uri: baseUrl + dataPath(sid, name), ...(tls && { ssl_certificate_thumbprint: tls.thumbprint }) }),
  });
  const log = new CallLog();
  const routes: Record<Dialect, CompiledRoute[]> = { rest: compileRoutes(restRoutes(ops)), api: compileRoutes(apiRoutes(ops)) };
  const data: DataDeps = { sessions, apiSessions, faults, throttle: new Throttle(), log, ranges: o.ranges };

  const vapi = vapiDispatcher({ routes, faults, apiSessions, log });
  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname.startsWith(DATA_PREFIX)) await serveData(req, res, url, data);
    else await vapi(req, res, url);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    dispatch(req, res).catch(() => res.destroy());
  };
  const server = tls ? https.createServer({ cert: tls.certPem, key: tls.keyPem }, onRequest) : http.createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `${tls ? 'https' : 'http'}://${urlHost(o.host)}:${port}`;

  if (o.checksumsAtStart) {
    for (const item of library.list()) {
      const withManifest = item.files.some((f) => f.source.kind === 'manifest');
      for (const f of item.files) {
        checksums.prefetch(f.key, f.source, withManifest ? [o.checksumAlgorithm, 'SHA1'] : [o.checksumAlgorithm]);
      }
    }
  }

  const describe = (item: { id: string; name: string; type: string; files: ItemFile[] }): SimulatorItem => ({
    id: item.id,
    name: item.name,
    type: item.type,
    files: item.files.map((f) => ({ name: f.name, size: f.size })),
  });
  const fileOf = (itemId: string, fileName: string): ItemFile => {
    const item = library.get(itemId);
    const f = item?.files.find((x) => x.name === fileName);
    if (!f) throw new SimulatorLookupError(item ? `item ${itemId} has no file ${JSON.stringify(fileName)}` : `no item ${itemId}`);
    return f;
  };
  const [username, password] = Object.entries(o.users)[0]!;
  let stopping: Promise<void> | undefined;

  return {
    url: baseUrl,
    ...(tls && { tls: { certPem: tls.certPem, thumbprint: tls.thumbprint } }),
    credentials: { username, password },
    items: () => library.list().map(describe),
    item(name) {
      const item = library.byName(name);
      if (!item) throw new SimulatorLookupError(`no item named ${JSON.stringify(name)}`);
      return describe(item);
    },
    fileContent(itemId, fileName, range = {}) {
      const f = fileOf(itemId, fileName);
      return openContent(f.source, range.start ?? 0, Math.min(range.end ?? f.size, f.size));
    },
    fileChecksum(itemId, fileName, algorithm = o.checksumAlgorithm) {
      const f = fileOf(itemId, fileName);
      const upper = algorithm.toUpperCase();
      if (!isChecksumAlgorithm(upper)) return Promise.reject(new SimulatorConfigError(`unknown checksum algorithm ${algorithm}`));
      return checksums.checksum(f.key, f.source, upper satisfies ChecksumAlgorithm);
    },
    faults: { add: (rule) => faults.add(rule), clear: () => faults.clear() },
    invalidateApiSessions: () => apiSessions.invalidateAll(),
    expireSession(id) {
      if (!sessions.expire(id)) throw new SimulatorLookupError(`no download session ${id}`);
    },
    cancelSession(id) {
      if (!sessions.cancelByServer(id)) throw new SimulatorLookupError(`no download session ${id}`);
    },
    inspect: () => inspect(sessions, apiSessions, log),
    stop() {
      stopping ??= (async () => {
        faults.clear();
        timers.clear();
        sessions.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.all([closed, checksums.close()]);
      })();
      return stopping;
    },
  };
}
