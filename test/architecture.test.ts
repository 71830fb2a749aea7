import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/shared-tools.ts';

// The layers and their one direction of dependency (see README, "Architecture"):
//   vsphere <- transfer <- orchestrator <- service <- cli      simulator stands apart;
//   config and logging are leaves the entry points use.
// Each rule says what a layer may import besides itself, Node built-ins and npm packages.
const src = path.join(repoRoot, 'src');

interface Rule {
  layer: string;
  mayImport: string[];
  forbiddenPackages: RegExp[];
}

const RULES: Rule[] = [
  { layer: 'vsphere', mayImport: ['cldl-error.ts', 'backoff.ts'], forbiddenPackages: [/^bullmq/, /^ioredis/, /^node:fs/, /^fs/, /^pino/] },
  { layer: 'transfer', mayImport: ['cldl-error.ts', 'backoff.ts', 'vsphere'], forbiddenPackages: [/^bullmq/, /^ioredis/] },
  { layer: 'orchestrator', mayImport: ['cldl-error.ts', 'backoff.ts', 'vsphere', 'transfer'], forbiddenPackages: [] },
  { layer: 'config', mayImport: ['cldl-error.ts'], forbiddenPackages: [/^bullmq/, /^ioredis/, /^undici/] },
  { layer: 'logging', mayImport: [], forbiddenPackages: [/^bullmq/, /^ioredis/, /^undici/] },
  { layer: 'service', mayImport: ['cldl-error.ts', 'backoff.ts', 'human-units.ts', 'vsphere', 'transfer', 'orchestrator', 'config', 'logging'], forbiddenPackages: [] },
  // The CLI may start the simulator: `cldl simulator` and `cldl demo`.
  { layer: 'cli', mayImport: ['cldl-error.ts', 'backoff.ts', 'human-units.ts', 'vsphere', 'transfer', 'orchestrator', 'config', 'logging', 'service', 'simulator'], forbiddenPackages: [] },
  { layer: 'simulator', mayImport: [], forbiddenPackages: [] },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:^|[\n;])\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

const files = sourceFiles(src);
const graph = new Map(
  files.map((f) => [
    f,
    importsOf(f).map((spec) => (spec.startsWith('.') ? { local: path.resolve(path.dirname(f), spec), spec } : { local: undefined, spec })),
  ]),
);
const layerOf = (file: string) => path.relative(src, file).split(path.sep)[0]!;

describe('architecture', () => {
  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(RULES)('$layer imports only what its layer may', (rule) => {
    const offences: string[] = [];
    for (const [file, deps] of graph) {
      if (layerOf(file) !== rule.layer) continue;
      for (const dep of deps) {
        const where = `${path.relative(src, file)} -> ${dep.spec}`;
        if (dep.local === undefined) {
          if (rule.forbiddenPackages.some((re) => re.test(dep.spec))) offences.push(where);
          continue;
        }
        const target = layerOf(dep.local);
        if (target !== rule.layer && !rule.mayImport.includes(target)) offences.push(where);
      }
    }
    expect(offences).toEqual([]);
  });

  // The orchestrator hands the transfer layer expectations as data and gets verified files back: it
  // goes through transfer's front door only, and needs few names from it. More would mean policy
  // about bytes (hashes, retries, checks) leaking up into the orchestrator.
  it('lets the orchestrator use transfer/ through index.ts only, and at most 8 names of it', () => {
    const offences: string[] = [];
    const names = new Set<string>();
    const transferIndex = path.join(src, 'transfer', 'index.ts');
    for (const file of files) {
      if (layerOf(file) !== 'orchestrator') continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?(\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+)\s+from\s+['"]([^'"]+)['"]/g)) {
        const spec = m[3]!;
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec);
        if (layerOf(target) !== 'transfer') continue;
        if (target !== transferIndex) offences.push(`${path.relative(src, file)} -> ${spec}`);
        const clause = m[2]!;
        if (!clause.startsWith('{')) offences.push(`${path.relative(src, file)} imports ${clause} from ${spec}: name what you use`);
        for (const part of clause.slice(1, -1).split(',')) {
          const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!.trim();
          if (name) names.add(name);
        }
      }
    }
    expect(offences).toEqual([]);
    expect([...names].sort().length, `names: ${[...names].sort().join(', ')}`).toBeLessThanOrEqual(8);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'visiting');
      stack.push(file);
      for (const dep of graph.get(file) ?? []) {
        if (dep.local === undefined || !graph.has(dep.local)) continue;
        if (state.get(dep.local) === 'visiting') {
          cycles.push(stack.slice(stack.indexOf(dep.local)).concat(dep.local).map((f) => path.relative(src, f)).join(' -> '));
        } else if (!state.has(dep.local)) visit(dep.local);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('resolves every relative import to a file that exists', () => {
    const missing = [...graph].flatMap(([file, deps]) =>
      deps.filter((d) => d.local !== undefined && !graph.has(d.local)).map((d) => `${path.relative(src, file)} -> ${d.spec}`),
    );
    expect(missing).toEqual([]);
  });
});
