import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { maskCredentials, maskValue } from './mask-credentials.ts';
import { configSchema, MIN_TOKEN_LENGTH, type RawConfig, type RawVCenterConfig } from './schema.ts';

/** One vCenter, ready to connect: secrets and the CA bundle read from their files. */
export type VCenterConfig = Omit<RawVCenterConfig, 'passwordFile' | 'caFile' | 'password'> & {
  password: string;
  /** PEM bundle from caFile. */
  ca?: string;
};

/** The whole configuration, validated once, frozen. */
export type CldlConfig = Readonly<
  Omit<RawConfig, 'vcenters' | 'http'> & {
    vcenters: Readonly<Record<string, Readonly<VCenterConfig>>>;
    http: Readonly<{ host: string; port: number; token?: string }>;
  }
>;

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Where default.json and local.json live; the package's own config/ by default. */
  configDir?: string;
  cwd?: string;
}

const PACKAGE_CONFIG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config');
const SECRET_KEYS = /(^|\.)(password|token)$/;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether the admin server listens only where local processes can reach it. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host);
}

type Json = Record<string, unknown>;

/**
 * Reads the configuration, later layers winning: config/default.json < config/local.json < the
 * file named by CLDL_CONFIG < environment variables. Throws a ConfigError listing every problem.
 */
export function loadConfig(options: LoadConfigOptions = {}): CldlConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const dir = options.configDir ?? PACKAGE_CONFIG_DIR;
  const sources = new Map<string, string>();
  const problems: string[] = [];

  let merged: Json = {};
  const layer = (file: string, label: string, required: boolean) => {
    if (!existsSync(file)) {
      if (required) problems.push(`${label}: no such file ${file}`);
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`${label}: ${file} is not valid JSON (${(err as Error).message})`);
      return;
    }
    if (!isObject(data)) return void problems.push(`${label}: ${file} must hold a JSON object`);
    const clean = stripComments(data);
    record(clean, '', label, sources);
    merged = merge(merged, clean);
  };
  layer(path.join(dir, 'default.json'), 'config/default.json', true);
  layer(path.join(dir, 'local.json'), 'config/local.json', false);
  if (env.CLDL_CONFIG) layer(path.resolve(cwd, env.CLDL_CONFIG), `CLDL_CONFIG (${env.CLDL_CONFIG})`, true);
  merged = merge(merged, fromEnv(env, sources, problems));
  if (problems.length) throw new ConfigError(problems);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => describeIssue(i, merged, sources)));
  return deepFreeze(resolve(parsed.data, cwd, sources));
}

/** Reads secret files, makes paths absolute, and checks what one field alone cannot. */
function resolve(raw: RawConfig, cwd: string, sources: Map<string, string>): CldlConfig {
  const problems: string[] = [];
  const readSecret = (key: string, file: string): string | undefined => {
    try {
      return readFileSync(path.resolve(cwd, file), 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${key}${from(sources, key)}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };
  const vcenters: Record<string, VCenterConfig> = {};
  for (const [name, v] of Object.entries(raw.vcenters)) {
    const { passwordFile, caFile, password, ...rest } = v;
    const secret = passwordFile !== undefined ? readSecret(`vcenters.${name}.passwordFile`, passwordFile) : password;
    const ca = caFile !== undefined ? readSecret(`vcenters.${name}.caFile`, caFile) : undefined;
    vcenters[name] = { ...rest, password: secret ?? '', ...(ca === undefined ? {} : { ca }) };
  }
  const token = raw.http.tokenFile !== undefined ? readSecret('http.tokenFile', raw.http.tokenFile) : raw.http.token;
  // The schema holds http.token to the minimum; a token read from a file is held to the same one.
  if (raw.http.tokenFile !== undefined && token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    problems.push(`http.tokenFile${from(sources, 'http.tokenFile')}: the token in ${raw.http.tokenFile} has ${token.length} characters; expected at least ${MIN_TOKEN_LENGTH}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    ...raw,
    downloadRoot: path.resolve(cwd, raw.downloadRoot),
    http: { host: raw.http.host, port: raw.http.port, ...(token ? { token } : {}) },
    vcenters,
  };
}

// --- environment

type EnvKind = 'string' | 'int' | 'bool';
const ENV: Array<[string, string, EnvKind]> = [
  ['REDIS_URL', 'redis.url', 'string'],
  ['CLDL_REDIS_PREFIX', 'redis.prefix', 'string'],
  ['CLDL_DOWNLOAD_ROOT', 'downloadRoot', 'string'],
  ['CLDL_HTTP_HOST', 'http.host', 'string'],
  ['CLDL_HTTP_PORT', 'http.port', 'int'],
  ['CLDL_HTTP_TOKEN', 'http.token', 'string'],
  ['CLDL_HTTP_TOKEN_FILE', 'http.tokenFile', 'string'],
  ['CLDL_CONCURRENCY', 'worker.concurrency', 'int'],
  ['CLDL_LOG_LEVEL', 'log.level', 'string'],
  ['CLDL_LOG_PRETTY', 'log.pretty', 'string'],
  ['VCENTER_URL', 'vcenters.default.url', 'string'],
  ['VCENTER_USERNAME', 'vcenters.default.username', 'string'],
  ['VCENTER_PASSWORD', 'vcenters.default.password', 'string'],
  ['VCENTER_PASSWORD_FILE', 'vcenters.default.passwordFile', 'string'],
  ['VCENTER_INSECURE', 'vcenters.default.insecure', 'bool'],
  ['VCENTER_ALLOW_PLAIN_HTTP', 'vcenters.default.allowPlainHttp', 'bool'],
  ['VCENTER_THUMBPRINT', 'vcenters.default.thumbprint', 'string'],
  ['VCENTER_CA_FILE', 'vcenters.default.caFile', 'string'],
  ['VCENTER_API', 'vcenters.default.api', 'string'],
];

export const ENVIRONMENT_VARIABLES: readonly string[] = ENV.map(([name]) => name);

function fromEnv(env: NodeJS.ProcessEnv, sources: Map<string, string>, problems: string[]): Json {
  const out: Json = {};
  for (const [name, key, kind] of ENV) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (kind === 'int') {
      value = /^\d+$/.test(raw.trim()) ? Number(raw) : undefined;
      if (value === undefined) problems.push(`${name}: ${JSON.stringify(maskCredentials(raw))} is not a whole number`);
    } else if (kind === 'bool') {
      value = { true: true, '1': true, yes: true, false: false, '0': false, no: false }[raw.trim().toLowerCase()];
      if (value === undefined) problems.push(`${name}: ${JSON.stringify(maskCredentials(raw))} is not a boolean; expected true or false`);
    }
    if (value === undefined) continue;
    setPath(out, key, value);
    sources.set(key, `env ${name}`);
  }
  return out;
}

// --- helpers

function describeIssue(issue: z.core.$ZodIssue, merged: Json, sources: Map<string, string>): string {
  if (issue.code === 'unrecognized_keys') {
    const base = issue.path.map(String).join('.');
    return issue.keys.map((k) => `${base ? `${base}.` : ''}${k}${from(sources, base ? `${base}.${k}` : k)}: not a known setting (see config/default.json)`).join('; ');
  }
  const key = issue.path.map(String).join('.');
  const value = getPath(merged, key);
  const shown = value === undefined ? 'missing' : SECRET_KEYS.test(key) ? '<redacted>' : JSON.stringify(maskValue(value));
  return `${key}${from(sources, key)}: ${shown}; ${issue.message}`;
}

function from(sources: Map<string, string>, key: string): string {
  const s = sources.get(key);
  return s ? ` (from ${s})` : '';
}

/** Keys starting with `//` document the next setting in default.json; they are not settings. */
function stripComments(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('//')) continue;
    out[k] = isObject(v) ? stripComments(v) : v;
  }
  return out;
}

function record(o: Json, prefix: string, label: string, sources: Map<string, string>): void {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    sources.set(key, label);
    if (isObject(v)) record(v, key, label, sources);
  }
}

function merge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k], v) : v;
  return out;
}

function setPath(o: Json, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Json;
  cur[parts.at(-1)!] = value;
}

function getPath(o: Json, key: string): unknown {
  let cur: unknown = o;
  for (const p of key.split('.')) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
