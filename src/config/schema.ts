import { z } from 'zod';

/**
 * Every setting, its type, its default and the form an error message asks for. config/default.json
 * mirrors these defaults with a line of documentation each (a test keeps the two equal).
 */

const ms = z.int({ error: 'expected a whole number of milliseconds' }).min(0, { error: 'expected a whole number of milliseconds (0 or more)' });
const count = z.int({ error: 'expected a whole number, 1 or more' }).min(1, { error: 'expected a whole number, 1 or more' });
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected a URL such as https://vcenter.example.com' });
const thumbprint = z
  .string()
  .regex(/^([0-9a-fA-F]{2}[:\s-]?){19}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{2}[:\s-]?){31}[0-9a-fA-F]{2}$/, {
    error: 'expected a SHA-1 (or SHA-256) certificate thumbprint such as 3A:F1:…:09',
  });

/** The admin API's bearer token, from http.token or http.tokenFile alike. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Where plain http to a vCenter is allowed without asking: nothing crosses a network (the built-in
 * simulator, a lab on this machine, a tunnel).
 */
const LOOPBACK_URL_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function plainHttpAllowed(v: { url: string; allowPlainHttp: boolean }): boolean {
  const url = URL.parse(v.url); // null: the url's own check has said so
  return url?.protocol !== 'http:' || v.allowPlainHttp || LOOPBACK_URL_HOSTS.has(url.hostname);
}

const backoff = z.strictObject({ baseMs: ms.default(1000), maxMs: ms.default(30_000) });

export const vcenterSchema = z
  .strictObject({
    url: httpUrl,
    username: z.string({ error: 'expected a user name' }).min(1, { error: 'expected a user name' }),
    password: z.string().optional(),
    passwordFile: z.string().optional(),
    api: z.enum(['auto', 'rest', 'api'], { error: 'expected auto, rest or api' }).default('auto'),
    insecure: z.boolean({ error: 'expected true or false' }).default(false),
    allowPlainHttp: z.boolean({ error: 'expected true or false' }).default(false),
    thumbprint: thumbprint.optional(),
    caFile: z.string().optional(),
    dataHosts: z.array(z.string().min(1)).default([]),
    verifyEndpointThumbprint: z.boolean({ error: 'expected true or false' }).default(true),
    connections: z.strictObject({ api: count.default(4), data: count.default(16) }).default({ api: 4, data: 16 }),
    timeouts: z
      .strictObject({ connectMs: ms.default(10_000), headersMs: ms.default(60_000), bodyIdleMs: ms.default(60_000), requestMs: ms.default(60_000) })
      .default({ connectMs: 10_000, headersMs: 60_000, bodyIdleMs: 60_000, requestMs: 60_000 }),
    retry: z.strictObject({ attempts: count.default(4), baseMs: ms.default(250), maxMs: ms.default(4000) }).default({ attempts: 4, baseMs: 250, maxMs: 4000 }),
    apiSessionKeepAliveMs: ms.default(300_000),
    maxResponseBytes: count.default(8 * 1024 * 1024),
    maxBytesPerSecond: z.int({ error: 'expected a whole number of bytes per second' }).min(1024, { error: 'expected at least 1024 bytes per second' }).optional(),
  })
  .refine((v) => v.password !== undefined || v.passwordFile !== undefined, {
    error: 'expected a password or a passwordFile (VCENTER_PASSWORD or VCENTER_PASSWORD_FILE)',
    path: ['password'],
  })
  .refine(plainHttpAllowed, {
    error: 'plain http sends the vCenter login and session token in clear text: use https://, or set allowPlainHttp: true on this vCenter (VCENTER_ALLOW_PLAIN_HTTP=true for the default one)',
    path: ['url'],
  });

export const configSchema = z.strictObject({
  downloadRoot: z.string().min(1, { error: 'expected a directory' }).default('./downloads'),
  redis: z
    .strictObject({
      url: z.string().regex(/^rediss?:\/\/.+/, { error: 'expected redis://[user:password@]host:port[/db] or rediss://…' }).default('redis://127.0.0.1:6379'),
      clusterNodes: z.array(z.string().regex(/^[^:]+:\d+$/, { error: 'expected host:port' })).default([]),
      prefix: z.string().min(1).default('{cldl}'),
    })
    .default({ url: 'redis://127.0.0.1:6379', clusterNodes: [], prefix: '{cldl}' }),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.int({ error: 'expected a TCP port number' }).min(0).max(65_535, { error: 'expected a TCP port number (0-65535)' }).default(9464),
      token: z.string().min(MIN_TOKEN_LENGTH, { error: `expected at least ${MIN_TOKEN_LENGTH} characters` }).optional(),
      tokenFile: z.string().optional(),
    })
    .default({ host: '127.0.0.1', port: 9464 }),
  vcenters: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'expected a vCenter name: letters, digits, . _ -' }), vcenterSchema).default({}),
  worker: z
    .strictObject({
      concurrency: count.default(8),
      filesPerJob: count.default(4),
      transfersPerProcess: count.default(8),
      sessionsPerVCenter: count.default(8),
      shutdownGraceMs: ms.default(30_000),
      orphanSweepIntervalMs: ms.default(300_000),
    })
    .default({ concurrency: 8, filesPerJob: 4, transfersPerProcess: 8, sessionsPerVCenter: 8, shutdownGraceMs: 30_000, orphanSweepIntervalMs: 300_000 }),
  jobs: z
    .strictObject({ attempts: count.default(5), backoffMs: ms.default(5000), retentionSeconds: count.default(604_800) })
    .default({ attempts: 5, backoffMs: 5000, retentionSeconds: 604_800 }),
  mirrors: z
    .array(
      z
        .strictObject({
          name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'expected a schedule name: letters, digits, . _ -' }),
          vcenter: z.string().optional(),
          library: z.string().min(1, { error: 'expected a library name or id' }),
          destination: z.string().min(1, { error: 'expected a directory under the download root' }),
          items: z.string().min(1).optional(),
          prune: z.boolean({ error: 'expected true or false' }).default(false),
          maxBytesPerSecond: z.int().min(1024, { error: 'expected at least 1024 bytes per second' }).optional(),
          every: ms.min(60_000, { error: 'expected every: a whole number of milliseconds, at least 60000' }).optional(),
          cron: z.string().min(1, { error: 'expected a cron pattern such as "0 2 * * *"' }).optional(),
        })
        .refine((m) => (m.every === undefined) !== (m.cron === undefined), { error: 'expected exactly one of every (milliseconds) or cron', path: ['every'] }),
    )
    .default([])
    .refine((list) => new Set(list.map((m) => m.name)).size === list.length, { error: 'expected each mirror schedule to have a name of its own' }),
  transfer: z
    .strictObject({
      attempts: count.default(8),
      backoff: backoff.default({ baseMs: 1000, maxMs: 30_000 }),
      highWaterMarkBytes: count.default(512 * 1024),
      segments: z
        .strictObject({ connections: count.default(4), minBytes: count.default(64 * 1024 * 1024), slowerThanBytesPerSecond: count.default(50_000_000) })
        .default({ connections: 4, minBytes: 64 * 1024 * 1024, slowerThanBytesPerSecond: 50_000_000 }),
    })
    .default({
      attempts: 8,
      backoff: { baseMs: 1000, maxMs: 30_000 },
      highWaterMarkBytes: 512 * 1024,
      segments: { connections: 4, minBytes: 64 * 1024 * 1024, slowerThanBytesPerSecond: 50_000_000 },
    }),
  keepAlive: z
    .strictObject({ intervalMs: ms.default(60_000), reportIntervalMs: ms.default(2000), retry: backoff.default({ baseMs: 1000, maxMs: 10_000 }) })
    .default({ intervalMs: 60_000, reportIntervalMs: 2000, retry: { baseMs: 1000, maxMs: 10_000 } }),
  prepare: z
    .strictObject({ timeoutMs: ms.default(1_800_000), pollMs: ms.default(25), maxPollMs: ms.default(5000) })
    .default({ timeoutMs: 1_800_000, pollMs: 25, maxPollMs: 5000 }),
  sync: z.strictObject({ timeoutMs: ms.default(1_800_000), pollMs: ms.default(2000) }).default({ timeoutMs: 1_800_000, pollMs: 2000 }),
  lock: z
    .strictObject({ durationMs: ms.default(30_000), stalledIntervalMs: ms.default(30_000), maxStalledCount: count.default(10) })
    .default({ durationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 10 }),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'expected fatal, error, warn, info, debug, trace or silent' }).default('info'),
      pretty: z.enum(['auto', 'always', 'never'], { error: 'expected auto, always or never' }).default('auto'),
    })
    .default({ level: 'info', pretty: 'auto' }),
});

export type RawConfig = z.output<typeof configSchema>;
export type RawVCenterConfig = z.output<typeof vcenterSchema>;
