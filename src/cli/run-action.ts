import type { Command } from 'commander';
import { CldlError } from '../cldl-error.ts';
import { ConfigError } from '../config/config-error.ts';
import { InvalidRequestError } from '../orchestrator/index.ts';
import { EXIT } from './exit-codes.ts';

/** Something to tell the user and an exit status, without a stack trace. */
export class CliFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** What the producer refuses as invalid is a usage error (exit 2), shown with the command's usage. */
export async function refusedAsUsage<T>(command: Command, submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (err) {
    if (err instanceof InvalidRequestError) throw new CliFailure(`${err.message}\n${command.name()}: ${command.usage()}`, EXIT.usage);
    throw err;
  }
}

/**
 * Runs a command's action and turns whatever it throws into a one-line message and an exit
 * status. Stacks are for bugs: shown only for errors cldl did not raise on purpose, or with
 * CLDL_DEBUG=1.
 */
export function runAction<A extends unknown[]>(action: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number;
    try {
      code = (await action(...args)) ?? EXIT.ok;
    } catch (err) {
      code = report(err);
    }
    process.exitCode = code;
  };
}

function report(err: unknown): number {
  const debug = process.env.CLDL_DEBUG === '1';
  if (err instanceof ConfigError) {
    console.error(`cldl: ${err.message}`);
    return EXIT.config;
  }
  if (err instanceof CliFailure) {
    console.error(`cldl: ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof CldlError) {
    console.error(`cldl: ${err.message}`);
    if (debug) console.error(err.stack);
    return EXIT.failure;
  }
  console.error(`cldl: ${err instanceof Error ? (debug ? err.stack : err.message) : String(err)}`);
  return EXIT.failure;
}
