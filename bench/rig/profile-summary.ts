// node bench/rig/profile-summary.ts FILE.cpuprofile [--top N]
// The top functions of a V8 CPU profile (node --cpu-prof) by self time, plus totals per category.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

/** Self time per function (same name and location merged), biggest first. */
export function selfTimes(profile: CpuProfile): { total: number; functions: FunctionTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to the sample's node.
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const merged = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    const name = f.functionName || '(anonymous)';
    const key = `${name}\0${where}`;
    const entry = merged.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    merged.set(key, entry);
    total += us;
  }
  const functions = [...merged.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, share: e.us / total }));
  return { total: total / 1000, functions };
}

function shortUrl(url: string): string {
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) return p.slice(nm + 'node_modules/'.length);
  const cwd = process.cwd() + path.sep;
  return p.startsWith(cwd) ? p.slice(cwd.length) : p;
}

/** Coarse buckets, to say where the time goes in one line. */
function category(f: FunctionTime): string {
  if (f.name === '(idle)') return 'idle';
  if (f.name === '(garbage collector)') return 'gc';
  if (f.name === '(program)') return 'program (native, outside JS)';
  if (f.where.startsWith('node:')) return `node:${f.where.slice(5).split('/')[0]!.split(':')[0]}`;
  if (f.where.startsWith('src/')) return f.where.split('/').slice(0, 2).join('/');
  if (f.where === '') return 'native';
  return f.where.split('/')[0]!;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  if (positionals.length !== 1) {
    console.error('usage: node bench/rig/profile-summary.ts FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(positionals[0]!, 'utf8')) as CpuProfile;
  const { total, functions } = selfTimes(profile);
  const busy = functions.filter((f) => f.name !== '(idle)').reduce((s, f) => s + f.selfMs, 0);
  console.log(`${positionals[0]}: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s not idle`);
  console.log(`${'self ms'.padStart(9)} ${'%'.padStart(6)} ${'% busy'.padStart(7)}  function  (where)`);
  for (const f of functions.slice(0, Number(values.top))) {
    const ofBusy = f.name === '(idle)' ? '' : ((100 * f.selfMs) / busy).toFixed(1);
    console.log(`${f.selfMs.toFixed(0).padStart(9)} ${(100 * f.share).toFixed(1).padStart(6)} ${ofBusy.padStart(7)}  ${f.name}  ${f.where}`);
  }
  const buckets = new Map<string, number>();
  for (const f of functions) buckets.set(category(f), (buckets.get(category(f)) ?? 0) + f.selfMs);
  console.log('\nby category (self ms, % of sampled):');
  for (const [k, ms] of [...buckets].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`${ms.toFixed(0).padStart(9)} ${((100 * ms) / total).toFixed(1).padStart(6)}  ${k}`);
  }
}

if (import.meta.main) await main();
