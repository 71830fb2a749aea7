// There is no Docker engine where these tests run, so docker-compose.yml and the Dockerfile are
// checked for what can drift silently: the settings they hand cldl must pass cldl's own
// configuration validation, and the paths and endpoints they name must exist.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENVIRONMENT_VARIABLES, loadConfig } from '../../src/config/load-config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
}

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
/** The final stage's instructions: everything after the last FROM. */
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

/** `${NAME:-default}` and `${NAME:?message}` as docker compose substitutes them, given `vars`. */
function substitute(value: string, vars: Record<string, string> = {}): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind: string | undefined, text: string) => {
    const set = vars[name];
    if (set) return set;
    if (kind === '?') throw new Error(`required variable ${name} is missing a value: ${text}`);
    return kind === '-' ? text : '';
  });
}

function cldlEnvironment(vars: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(compose.services.cldl!.environment ?? {}).map(([k, v]) => [k, substitute(String(v), vars)]));
}

/** `ENV A=1 B=2` lines of the runtime stage. */
function dockerfileEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of runtimeStage.split('\n')) {
    if (!line.startsWith('ENV ')) continue;
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const [name, value] = pair.split('=');
      out[name!] = value ?? '';
    }
  }
  return out;
}

describe('docker-compose.yml', () => {
  const { services } = compose;

  it('runs Redis the way cldl needs it: AOF on, no eviction, data on a volume', () => {
    const redis = services.redis!;
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
    const volume = redis.volumes?.[0]?.split(':')[0];
    expect(volume && volume in compose.volumes).toBe(true);
  });

  it('seeds vcsim with an item from a file that exists, after the library is created', () => {
    const item = services['seed-item']!;
    expect(item.command?.[0]).toBe('library.import');
    const mount = item.volumes?.[0]?.split(':') ?? [];
    const seedFile = item.command?.at(-1) ?? '';
    expect(existsSync(path.join(ROOT, mount[0]!, path.relative(mount[1]!, seedFile)))).toBe(true);
    expect(item.depends_on).toMatchObject({ 'seed-library': { condition: 'service_completed_successfully' } });
  });

  it('gives the cldl worker only variables cldl reads, and a configuration it accepts', () => {
    const cldl = services.cldl!;
    expect(cldl.build).toBe('.');
    const env = { ...dockerfileEnv(), ...cldlEnvironment({ CLDL_HTTP_TOKEN: 'a-token-the-operator-chose' }) };
    const unknown = Object.keys(env).filter((k) => k !== 'NODE_ENV' && !ENVIRONMENT_VARIABLES.includes(k));
    expect(unknown).toEqual([]);
    const config = loadConfig({ env, cwd: ROOT });
    expect(config.vcenters.default).toMatchObject({ url: 'https://vcsim:8989', api: 'rest', insecure: true });
    // Bound beyond loopback, so the downloads API needs the token the file sets.
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.token).toBe('a-token-the-operator-chose');
    expect(config.downloadRoot).toBe('/downloads');
  });

  it('refuses to start without a token of the operator\'s own, saying how to set one', () => {
    // A default token in a published file is everyone's token.
    expect(() => cldlEnvironment()).toThrow(/CLDL_HTTP_TOKEN is missing a value: .*set CLDL_HTTP_TOKEN/);
  });

  it('starts the worker once Redis is healthy and the item is seeded, and keeps downloads on a volume', () => {
    const cldl = services.cldl!;
    expect(cldl.depends_on).toMatchObject({
      redis: { condition: 'service_healthy' },
      'seed-item': { condition: 'service_completed_successfully' },
    });
    expect(cldl.volumes).toContain('downloads:/downloads');
    expect(services.redis!.healthcheck?.test).toContain('redis-cli');
  });
});

describe('npm start', () => {
  it('builds, then runs the built `cldl worker` as the image does, leaving its Node flags to it', () => {
    // Built, not type-stripped: stripping .ts sources holds about 30 MiB more for the process's life.
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).toBe('npm run build');
    // exec: npm relays SIGTERM to its shell, which would die and leave the worker running.
    expect(pkg.scripts.start).toBe('exec node dist/cli/main.js worker');
    expect(runtimeStage).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]\nCMD ["worker"]');
  });
});

describe('Dockerfile', () => {
  it('runs the built entry point, which applies the worker\'s Node flags itself, as an unprivileged user on Node 24', () => {
    expect(runtimeStage).toMatch(/^FROM node:24-slim$/m);
    expect(runtimeStage).toMatch(/^USER node$/m);
    // tsc -p tsconfig.build.json maps src/ to dist/.
    const build = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(runtimeStage).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]');
    expect(existsSync(path.join(ROOT, 'src/cli/main.ts'))).toBe(true);
  });

  it('checks health on /readyz, the endpoint that turns unready on SIGTERM', () => {
    expect(runtimeStage).toMatch(/HEALTHCHECK[\s\S]*\/readyz/);
    const source = readFileSync(path.join(ROOT, 'src/service/admin-http.ts'), 'utf8');
    expect(source).toContain("'/readyz'");
  });
});
