import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { ApiSessions } from './auth.ts';
import { CallLog } from './call-log.ts';
import { Checksums } from './checksums.ts';
import { WireClock } from './clock.ts';
import { DownloadSessions } from './download-sessions.ts';
import { SimulatorLookupError } from './errors.ts';
import type { FaultRule } from './fault-rules.ts';
import { type FaultHandle, Faults } from './faults.ts';
import { inspect, type Inspection } from './inspect.ts';
import { draftFromSpec } from './item-specs.ts';
import { Libraries } from './libraries.ts';
import { LibraryAdmin, type SimulatorItem, type SimulatorLibrary } from './library-admin.ts';
import { Operations } from './operations.ts';
import { type ItemSpec, resolveOptions, type SimulatorOptions } from './options.ts';
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

export interface Simulator {
  /** http(s)://host:port, no trailing slash. */
  url: string;
  /** With tls: the certificate to trust as a CA, and its SHA-1 thumbprint as File.Info reports it. */
  tls?: { certPem: string; thumbprint: string };
  /** The first user. */
  credentials: { username: string; password: string };
  /** Every item of every library. */
  items(): SimulatorItem[];
  /**
   * The item of that name; `libraryName` picks one when two libraries hold one of that name.
   * Throws SimulatorLookupError if none (or, without a library, more than one) has that name.
   */
  item(name: string, libraryName?: string): SimulatorItem;
  /** Throws SimulatorLookupError for an unknown name. */
  library(name: string): SimulatorLibrary;
  /** Adds an item now: to `libraryName`, else where `items` go. Throws SimulatorConfigError for a bad spec or a name taken in that library. */
  addItem(spec: ItemSpec, libraryName?: string): SimulatorItem;
  /**
   * New content for the item and the next content_version ("2", "3"…): `files`, or, without them,
   * the same names and sizes with new bytes. Checksums, a manifest, the item's size and file
   * listings follow. Download sessions created before keep serving what they were created with.
   */
  replaceItemContent(itemIdOrName: string, files?: ItemSpec['files']): SimulatorItem;
  /** The item leaves its library (item.get: not_found); its ACTIVE download sessions end in ERROR, their transfers cut. */
  deleteItem(itemIdOrName: string): void;
  /** The true bytes of the current content (no faults), streamed; optionally only [start, end). */
  fileContent(itemId: string, fileName: string, range?: { start?: number; end?: number }): Readable;
  /** Lower-case hex of the current content's true bytes. Default algorithm: the configured one. */
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
  const libraries = new Libraries(checksums);
  try {
    for (const spec of o.libraries) {
      const library = libraries.addLibrary(spec);
      for (const item of spec.items) libraries.add(draftFromSpec(item), library);
    }
    // As ever, the default local library exists even when empty, unless libraries of one's own are declared.
    if (o.libraries.length === 0) libraries.defaultLibrary(false);
    if (o.seedDir !== undefined) for (const draft of await readSeedFolder(o.seedDir)) libraries.add(draft);
    for (const spec of o.items) libraries.add(draftFromSpec(spec));
  } catch (err) {
    await checksums.close();
    throw err;
  }
  const tls = o.tls ? await tlsMaterial(o.tls, o.host) : undefined;
  const apiSessions = new ApiSessions(o.users, o.apiSessionIdleTimeoutMs);
  const faults = new Faults({ random: seededRandom(o.seed), timers, invalidateApiSessions: () => apiSessions.invalidateAll() });
  const sessions = new DownloadSessions({
    libraries,
    timers,
    idleTimeoutMs: o.sessionIdleTimeoutMs,
    prepareDelayMs: o.prepareDelayMs,
    prepareOutcome: (_s, fileName) => faults.prepareOutcome(fileName),
  });
  let baseUrl = '';
  const clock = new WireClock(() => faults.clockSkewMs());
  const ops = new Operations({
    options: o,
    libraries,
    sessions,
    apiSessions,
    checksums,
    timers,
    clock,
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
    // Every response carries a Date header; Node's own is right unless the clock is skewed.
    const date = clock.dateHeader();
    if (date !== undefined) res.setHeader('date', date);
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

  const admin = new LibraryAdmin({ libraries, sessions, checksums, checksumAlgorithm: o.checksumAlgorithm, hashEagerly: o.checksumsAtStart });
  for (const item of libraries.list()) admin.hashInBackground(item);
  const [username, password] = Object.entries(o.users)[0]!;
  let stopping: Promise<void> | undefined;

  return {
    url: baseUrl,
    ...(tls && { tls: { certPem: tls.certPem, thumbprint: tls.thumbprint } }),
    credentials: { username, password },
    items: () => admin.items(),
    item: (name, libraryName) => admin.item(name, libraryName),
    library: (name) => admin.library(name),
    addItem: (spec, libraryName) => admin.addItem(spec, libraryName),
    replaceItemContent: (itemIdOrName, files) => admin.replaceItemContent(itemIdOrName, files),
    deleteItem: (itemIdOrName) => admin.deleteItem(itemIdOrName),
    fileContent: (itemId, fileName, range) => admin.fileContent(itemId, fileName, range),
    fileChecksum: (itemId, fileName, algorithm) => admin.fileChecksum(itemId, fileName, algorithm),
    faults: { add: (rule) => faults.add(rule), clear: () => faults.clear() },
    invalidateApiSessions: () => apiSessions.invalidateAll(),
    expireSession(id) {
      if (!sessions.expire(id)) throw new SimulatorLookupError(`no download session ${id}`);
    },
    cancelSession(id) {
      if (!sessions.cancelByServer(id)) throw new SimulatorLookupError(`no download session ${id}`);
    },
    inspect: () => inspect(sessions, apiSessions, log, libraries),
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
