import { parseArgs } from 'node:util';
import { SimulatorConfigError } from './errors.ts';
import { generatedItems, type SimulatorOptions } from './options.ts';
import { startSimulator } from './server.ts';

/**
 * The simulator as a process, for the demo, benchmarks and a person with curl:
 *   npm run simulator -- --seed DIR --port 8989 [--tls] [--generate 3x1G]
 * Prints the URL, credentials and items, then serves until SIGINT or SIGTERM.
 */

const usage = (program: string) => `usage: ${program} [options]
  --seed DIR              serve DIR: each file an item, each sub-folder one multi-file item
  --generate COUNTxSIZE   add COUNT generated one-file items of SIZE bytes (suffix K, M, G, T: binary)
  --port N                listen port (default 0: any free port)
  --host H                listen address (default 127.0.0.1)
  --tls                   HTTPS with a self-signed certificate
  --idle-timeout-s N      download-session idle timeout in seconds (default 300)
  --prepare-delay-ms N    per prepare step (default 20)
  --user NAME:PASSWORD    a user (repeatable; default user:pass)
  --lazy-checksums        hash files only when asked, not from start (keeps a core free for benchmarks)
  --json                  print one JSON line instead of readable lines
  --help`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

function parseGenerate(value: string): { count: number; size: number } {
  const m = /^(\d+)x(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`--generate wants COUNTxSIZE such as 3x1G, got ${value}`);
  return { count: Number(m[1]), size: Math.round(Number(m[2]) * UNITS[m[3]!.toUpperCase()]!) };
}

function nonNegativeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${name} wants a non-negative number, got ${value}`);
  return n;
}

function optionsFrom(argv: string[]): { options: SimulatorOptions; json: boolean } | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      generate: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      tls: { type: 'boolean' },
      'idle-timeout-s': { type: 'string' },
      'prepare-delay-ms': { type: 'string' },
      user: { type: 'string', multiple: true },
      'lazy-checksums': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const users = values.user?.map((u) => {
    const colon = u.indexOf(':');
    if (colon <= 0) throw new UsageError(`--user wants NAME:PASSWORD, got ${u}`);
    return [u.slice(0, colon), u.slice(colon + 1)] as const;
  });
  const port = nonNegativeNumber('--port', values.port);
  if (port !== undefined && (!Number.isInteger(port) || port > 65_535)) throw new UsageError(`--port wants 0-65535, got ${values.port}`);
  const idle = nonNegativeNumber('--idle-timeout-s', values['idle-timeout-s']);
  const generated = values.generate === undefined ? undefined : parseGenerate(values.generate);
  return {
    json: values.json ?? false,
    options: {
      seedDir: values.seed,
      items: generated ? generatedItems(generated.count, generated.size) : [],
      port,
      host: values.host,
      tls: values.tls ?? false,
      sessionIdleTimeoutMs: idle === undefined ? undefined : idle * 1000,
      prepareDelayMs: nonNegativeNumber('--prepare-delay-ms', values['prepare-delay-ms']),
      users: users ? Object.fromEntries(users) : undefined,
      checksumsAtStart: !values['lazy-checksums'],
    },
  };
}

/** Runs the simulator as a command: `npm run simulator --` and `cldl simulator` share it. */
export async function runSimulatorCli(argv: string[], program = 'npm run simulator --'): Promise<void> {
  const USAGE = usage(program);
  let parsed: ReturnType<typeof optionsFrom>;
  try {
    parsed = optionsFrom(argv);
  } catch (err) {
    // parseArgs throws TypeErrors with codes for unknown or malformed options.
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  let sim;
  try {
    sim = await startSimulator(parsed.options);
  } catch (err) {
    if (!(err instanceof SimulatorConfigError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  // Before printing: whoever reads the URL may signal at once.
  const shutdown = (): void => {
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  const items = sim.items();
  if (parsed.json) {
    console.log(JSON.stringify({ url: sim.url, credentials: sim.credentials, thumbprint: sim.tls?.thumbprint ?? null, items }));
  } else {
    const lines = [`cldl simulator listening on ${sim.url}`, `credentials: ${sim.credentials.username} / ${sim.credentials.password}`];
    if (sim.tls) lines.push(`certificate thumbprint (SHA-1): ${sim.tls.thumbprint}`);
    lines.push(`items (${items.length}):`);
    for (const item of items) {
      lines.push(`  ${item.id}  ${item.name}  [${item.type}]`);
      for (const f of item.files) lines.push(`      ${f.name}  ${f.size} bytes`);
    }
    console.log(lines.join('\n'));
  }
}

if (import.meta.main) await runSimulatorCli(process.argv.slice(2));
