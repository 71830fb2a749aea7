#!/usr/bin/env node
// cldl: the command line. `cldl --help` lists the commands; each has its own --help.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerCancel } from './commands/cancel.ts';
import { registerDemo } from './commands/demo.ts';
import { registerEnqueue } from './commands/enqueue.ts';
import { registerList } from './commands/list.ts';
import { registerMirror } from './commands/mirror.ts';
import { registerSessions } from './commands/sessions.ts';
import { registerSimulator } from './commands/simulator.ts';
import { registerStatus } from './commands/status.ts';
import { registerWorker } from './commands/worker.ts';
import { EXIT } from './exit-codes.ts';

const packageJson = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');
const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('cldl')
    .description('Download vSphere Content Library items to disk through DownloadSessions, orchestrated with BullMQ on Redis.')
    .version(version)
    // Set before the commands are added: subcommands inherit these.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: false });
  registerWorker(program);
  registerEnqueue(program);
  registerStatus(program);
  registerCancel(program);
  registerList(program);
  registerMirror(program);
  registerSessions(program);
  registerSimulator(program);
  registerDemo(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // Commander already printed the message (or the help). Help and --version exit 0; misuse 2.
    if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    else throw err;
  }
}

if (import.meta.main) await main(process.argv);
