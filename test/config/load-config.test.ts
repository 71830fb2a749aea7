import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { configWarnings } from '../../src/config/config-warnings.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { maskCredentials } from '../../src/config/mask-credentials.ts';
import { configSchema } from '../../src/config/schema.ts';
import { repoRoot } from '../support/shared-tools.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cldl-config-'));
  await copyFile(path.join(repoRoot, 'config/default.json'), path.join(dir, 'default.json'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const VC = { VCENTER_URL: 'https://vc.lab.example', VCENTER_USERNAME: 'svc-cldl@vsphere.local', VCENTER_PASSWORD: 'Sup3r-Secret!' };

function load(env: Record<string, string> = {}) {
  return loadConfig({ env, configDir: dir, cwd: dir });
}

function problems(env: Record<string, string> = {}): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config/default.json', () => {
  it('holds exactly the defaults of the schema', async () => {
    const raw = JSON.parse(await readFile(path.join(repoRoot, 'config/default.json'), 'utf8')) as Record<string, unknown>;
    const strip = (o: unknown): unknown =>
      o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('//')).map(([k, v]) => [k, strip(v)])) : o;
    expect(strip(raw)).toEqual(configSchema.parse({}));
  });

  it('documents every setting with a // line', async () => {
    const raw = JSON.parse(await readFile(path.join(repoRoot, 'config/default.json'), 'utf8')) as Record<string, unknown>;
    const undocumented: string[] = [];
    const walk = (o: Record<string, unknown>, at: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (k.startsWith('//')) continue;
        if (!(`//${k}` in o)) undocumented.push(`${at}${k}`);
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${at}${k}.`);
      }
    };
    walk(raw, '');
    expect(undocumented).toEqual([]);
    // Optional settings with no default are documented too.
    expect(Object.keys(raw.http as object)).toEqual(expect.arrayContaining(['//token', '//tokenFile']));
  });
});

describe('loadConfig', () => {
  it('gives the defaults, resolved and frozen, when nothing is set', () => {
    const c = load();
    expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', clusterNodes: [], prefix: '{cldl}' });
    expect(c.downloadRoot).toBe(path.join(dir, 'downloads'));
    expect(c.vcenters).toEqual({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.worker)).toBe(true);
    expect(() => {
      (c.worker as { concurrency: number }).concurrency = 99;
    }).toThrow(TypeError);
  });

  it('layers defaults < local.json < CLDL_CONFIG < environment', async () => {
    await writeFile(path.join(dir, 'local.json'), JSON.stringify({ worker: { concurrency: 2, filesPerJob: 3 }, http: { port: 9000 } }));
    await writeFile(path.join(dir, 'site.json'), JSON.stringify({ worker: { concurrency: 6 }, downloadRoot: '/srv/cldl' }));
    const c = load({ CLDL_CONFIG: 'site.json', CLDL_CONCURRENCY: '12' });
    expect(c.worker.concurrency).toBe(12); // env
    expect(c.downloadRoot).toBe('/srv/cldl'); // CLDL_CONFIG
    expect(c.worker.filesPerJob).toBe(3); // local.json
    expect(c.http.port).toBe(9000); // local.json
    expect(c.worker.transfersPerProcess).toBe(8); // default
  });

  it('defines the vCenter named default from the environment, reading the password from a file', async () => {
    await writeFile(path.join(dir, 'pw'), 'from-a-file\n');
    const c = load({ ...VC, VCENTER_PASSWORD: '', VCENTER_PASSWORD_FILE: 'pw', VCENTER_INSECURE: 'true', VCENTER_API: 'rest' });
    expect(c.vcenters.default).toMatchObject({ url: 'https://vc.lab.example', username: 'svc-cldl@vsphere.local', password: 'from-a-file', insecure: true, api: 'rest' });
    expect(c.vcenters.default).not.toHaveProperty('passwordFile');
  });

  it('takes several named vCenters from a file, with a CA bundle read from its file', async () => {
    await writeFile(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    await writeFile(
      path.join(dir, 'site.json'),
      JSON.stringify({
        vcenters: {
          east: { url: 'https://vc-east.example', username: 'a', password: 'x', caFile: 'ca.pem' },
          west: { url: 'https://vc-west.example', username: 'b', password: 'y', thumbprint: 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD' },
        },
      }),
    );
    const c = load({ CLDL_CONFIG: 'site.json' });
    expect(Object.keys(c.vcenters)).toEqual(['east', 'west']);
    expect(c.vcenters.east!.ca).toContain('BEGIN CERTIFICATE');
    expect(c.vcenters.west!.connections).toEqual({ api: 4, data: 16 });
    expect(c.vcenters.west!.maxResponseBytes).toBe(8 * 1024 * 1024);
  });

  it('names the key, where the value came from, the problem and the form expected', () => {
    expect(problems({ ...VC, VCENTER_URL: 'vc.lab.example' })).toEqual([
      'vcenters.default.url (from env VCENTER_URL): "vc.lab.example"; expected a URL such as https://vcenter.example.com',
    ]);
    expect(problems({ CLDL_HTTP_PORT: 'eighty' })).toEqual(['CLDL_HTTP_PORT: "eighty" is not a whole number']);
    expect(problems({ ...VC, VCENTER_INSECURE: 'maybe' })).toEqual(['VCENTER_INSECURE: "maybe" is not a boolean; expected true or false']);
    expect(problems({ REDIS_URL: 'localhost:6379' })).toEqual([
      'redis.url (from env REDIS_URL): "localhost:6379"; expected redis://[user:password@]host:port[/db] or rediss://…',
    ]);
    expect(problems({ ...VC, VCENTER_API: 'soap' })).toEqual(['vcenters.default.api (from env VCENTER_API): "soap"; expected auto, rest or api']);
  });

  it('refuses settings it does not know, naming the file', async () => {
    await writeFile(path.join(dir, 'local.json'), JSON.stringify({ worker: { concurency: 3 } }));
    expect(problems()).toEqual(['worker.concurency (from config/local.json): not a known setting (see config/default.json)']);
  });

  it('lists every problem at once, never showing a secret', async () => {
    await writeFile(path.join(dir, 'local.json'), JSON.stringify({ http: { token: 'short' }, jobs: { attempts: 0 } }));
    const found = problems({ VCENTER_URL: 'https://vc', VCENTER_PASSWORD: 'hunter2hunter2' });
    expect(found).toHaveLength(3);
    expect(found).toContain('http.token (from config/local.json): <redacted>; expected at least 16 characters');
    expect(found).toContain('jobs.attempts (from config/local.json): 0; expected a whole number, 1 or more');
    expect(found.some((p) => p.startsWith('vcenters.default.username: missing; expected a user name'))).toBe(true);
    expect(found.join('\n')).not.toMatch(/hunter2|short/);
  });

  it('requires a password or a password file, and a readable one', () => {
    expect(problems({ ...VC, VCENTER_PASSWORD: '' })).toEqual([
      'vcenters.default.password: missing; expected a password or a passwordFile (VCENTER_PASSWORD or VCENTER_PASSWORD_FILE)',
    ]);
    expect(problems({ ...VC, VCENTER_PASSWORD: '', VCENTER_PASSWORD_FILE: 'nope' })).toEqual([
      'vcenters.default.passwordFile (from env VCENTER_PASSWORD_FILE): cannot read nope (ENOENT)',
    ]);
  });

  it('reads the bearer token from a file', async () => {
    await writeFile(path.join(dir, 'token'), 'a-long-enough-token-for-tests\n');
    expect(load({ CLDL_HTTP_HOST: '0.0.0.0', CLDL_HTTP_TOKEN_FILE: 'token' }).http).toEqual({ host: '0.0.0.0', port: 9464, token: 'a-long-enough-token-for-tests' });
  });

  it('applies the 16-character minimum to a token from a file too, naming the file and not the token', async () => {
    await writeFile(path.join(dir, 'short'), 'qz\n');
    await writeFile(path.join(dir, 'empty'), '');
    expect(problems({ CLDL_HTTP_TOKEN_FILE: 'short' })).toEqual([
      'http.tokenFile (from env CLDL_HTTP_TOKEN_FILE): the token in short has 2 characters; expected at least 16',
    ]);
    expect(problems({ CLDL_HTTP_TOKEN_FILE: 'empty' })).toEqual([
      'http.tokenFile (from env CLDL_HTTP_TOKEN_FILE): the token in empty has 0 characters; expected at least 16',
    ]);
  });

  it('never shows the password of a URL it refuses', async () => {
    const redis = problems({ REDIS_URL: 'redis//admin:S3cret-pw@redis.example:6379' });
    expect(redis).toEqual([
      'redis.url (from env REDIS_URL): "redis//admin:***@redis.example:6379"; expected redis://[user:password@]host:port[/db] or rediss://…',
    ]);
    const vc = problems({ ...VC, VCENTER_URL: 'ftp://root:vmware1!@vc.lab.example' }).join('\n');
    expect(vc).toContain('"ftp://root:***@vc.lab.example"');
    expect(problems({ CLDL_HTTP_PORT: 'x:p4ss@y' })).toEqual(['CLDL_HTTP_PORT: "x:***@y" is not a whole number']);
    await writeFile(path.join(dir, 'local.json'), JSON.stringify({ redis: { clusterNodes: ['default:Cl0ster-pw@10.0.0.1:7000'] } }));
    expect(problems().join('\n')).not.toContain('Cl0ster-pw');
  });

  it('refuses a plain http vCenter beyond loopback unless told to allow it', () => {
    expect(problems({ ...VC, VCENTER_URL: 'http://vc.lab.example' })).toEqual([
      'vcenters.default.url (from env VCENTER_URL): "http://vc.lab.example"; plain http sends the vCenter login and session token in clear text: use https://, or set allowPlainHttp: true on this vCenter (VCENTER_ALLOW_PLAIN_HTTP=true for the default one)',
    ]);
    expect(load({ ...VC, VCENTER_URL: 'http://vc.lab.example', VCENTER_ALLOW_PLAIN_HTTP: 'true' }).vcenters.default).toMatchObject({ url: 'http://vc.lab.example', allowPlainHttp: true });
    // The built-in simulator and lab set-ups on this machine: nothing crosses a network.
    for (const url of ['http://127.0.0.1:8989', 'http://localhost', 'http://[::1]:8080']) {
      expect(load({ ...VC, VCENTER_URL: url }).vcenters.default!.url).toBe(url);
    }
  });

  it('reports a CLDL_CONFIG that is missing or not JSON', async () => {
    expect(problems({ CLDL_CONFIG: 'missing.json' })[0]).toMatch(/^CLDL_CONFIG \(missing.json\): no such file /);
    await writeFile(path.join(dir, 'bad.json'), '{ "worker": ');
    expect(problems({ CLDL_CONFIG: 'bad.json' })[0]).toMatch(/^CLDL_CONFIG \(bad.json\): .*bad.json is not valid JSON/);
  });
});

describe('maskCredentials', () => {
  it.each([
    ['redis://admin:pw@host:6379/0', 'redis://admin:***@host:6379/0'],
    ['rediss://:pw@host', 'rediss://:***@host'],
    ['redis://user:p@ss/w:rd@host', 'redis://user:***@host'],
    ['user:pw@host', 'user:***@host'],
    ['at redis://a:b@h and https://c:d@e', 'at redis://a:***@h and https://c:***@e'],
    ['redis://user-only@host', 'redis://user-only@host'],
    ['https://vc.example:443/path', 'https://vc.example:443/path'],
  ])('%s → %s', (text, masked) => {
    expect(maskCredentials(text)).toBe(masked);
  });
});

describe('configWarnings', () => {
  it('warns about TLS verification turned off and a plain http vCenter', () => {
    const c = load({ ...VC, VCENTER_URL: 'http://127.0.0.1:8989' });
    expect(configWarnings(c)).toEqual([
      'vCenter default is plain http (http://127.0.0.1:8989): its login and session token cross in clear text; use https:// beyond a lab',
    ]);
    const insecure = load({ ...VC, VCENTER_INSECURE: 'true' });
    expect(configWarnings(insecure)).toEqual([
      'vCenter default has TLS verification off (insecure: true): anyone on the path can pose as it and receive its login; pin its certificate with thumbprint or trust its CA with caFile instead',
    ]);
    expect(configWarnings(load(VC))).toEqual([]);
  });
});
