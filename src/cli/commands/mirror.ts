import { InvalidArgumentError, type Command } from 'commander';
import type { MirrorStatus } from '../../orchestrator/index.ts';
import { EXIT } from '../exit-codes.ts';
import { formatBytes, formatRate } from '../format.ts';
import { ProgressDisplay } from '../progress-display.ts';
import { CliFailure, refusedAsUsage, runAction } from '../run-action.ts';
import { clientForCli } from './client-for-cli.ts';

interface MirrorOptions {
  library: string;
  dest: string;
  vcenter?: string;
  items?: string;
  prune?: boolean;
  maxRate?: number;
  wait?: boolean;
}

export function registerMirror(program: Command): void {
  const command = program
    .command('mirror')
    .description('mirror a content library into a directory (only what changed since the last run) and print the run id')
    .requiredOption('--library <name-or-id>', 'the library, by name or id')
    .requiredOption('--dest <dir>', 'destination directory, relative to the download root; each item lands in DIR/<item name>/')
    .option('--vcenter <name>', 'a configured vCenter (default: default)')
    .option('--items <glob>', 'only items whose names match, e.g. "photon-*"')
    .option('--prune', 'remove the copies of items that left the library (they stay otherwise)')
    .option('--max-rate <rate>', 'cap this run at RATE bytes per second over every worker (K, M, G suffixes: 50M)', parseRate)
    .option('--wait', 'follow the run to its end: exit 0 when every item is current, 1 with the reasons otherwise')
    .addHelpText(
      'after',
      `
Items that did not change (same content version, same files, each on disk with its recorded size)
cost no download session and no data. A changed item is downloaded beside its current copy and
swapped in with a rename when its download is complete. DIR/.cldl-mirror.json records what DIR holds.
A run of the same library into DIR while one runs joins it; another library into DIR is refused.`,
    );
  command.action(
    runAction(async (opts: MirrorOptions) => {
      const { client } = await clientForCli();
      try {
        const id = await refusedAsUsage(command, () =>
          client.mirrorLibrary({
            library: opts.library,
            destination: opts.dest,
            ...(opts.vcenter ? { vcenter: opts.vcenter } : {}),
            ...(opts.items ? { items: opts.items } : {}),
            ...(opts.prune ? { prune: true } : {}),
            ...(opts.maxRate ? { maxBytesPerSecond: opts.maxRate } : {}),
          }),
        );
        console.log(id);
        if (!opts.wait) return EXIT.ok;
        const display = new ProgressDisplay();
        const rate = rateMeter();
        const done = await client.waitForMirror(id, {
          onProgress: (s) => display.show(id.slice(0, 15), percentOf(s), `${describeProgress(s)}  ${formatRate(rate(s.progress.bytesDone))}  ${s.state}`),
        });
        display.done();
        return report(done);
      } finally {
        await client.close();
      }
    }),
  );
}

function report(s: MirrorStatus): number {
  const p = s.progress;
  console.error(`${s.state}: ${p.itemsDone} downloaded, ${p.itemsCurrent} already current, ${p.itemsFailed} failed, of ${p.itemsTotal} items`);
  const pruned = s.items.filter((i) => i.action === 'prune').length;
  if (pruned) console.error(`  pruned ${pruned}`);
  if (s.state === 'completed') return EXIT.ok;
  for (const i of s.items.filter((x) => x.outcome === 'failed')) console.error(`  ${i.name}: ${i.reason ?? 'failed'}`);
  throw new CliFailure(`mirror run ${s.id} failed: ${s.lastError ?? 'see above'}`);
}

function describeProgress(s: MirrorStatus): string {
  const p = s.progress;
  return `items ${p.itemsDone + p.itemsCurrent}/${p.itemsTotal}  ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}`;
}

function percentOf(s: MirrorStatus): number {
  const p = s.progress;
  if (s.state === 'completed') return 100;
  if (p.bytesTotal > 0) return Math.min(99, Math.floor((100 * p.bytesDone) / p.bytesTotal));
  return p.itemsTotal ? Math.floor((100 * (p.itemsDone + p.itemsCurrent)) / p.itemsTotal) : 0;
}

/** Bytes per second over the last few samples. */
function rateMeter(): (bytes: number) => number {
  const samples: Array<[number, number]> = [];
  return (bytes) => {
    const now = Date.now();
    samples.push([now, bytes]);
    while (samples.length > 2 && now - samples[0]![0] > 10_000) samples.shift();
    const [t0, b0] = samples[0]!;
    return now > t0 ? Math.max(0, Math.round(((bytes - b0) * 1000) / (now - t0))) : 0;
  };
}

/** `50M`, `1.5G`, `800000`: bytes per second. */
function parseRate(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?(?:\/s)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected bytes per second, e.g. 800000, 50M or 1.5G');
  const unit = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * unit);
}
