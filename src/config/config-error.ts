import { CldlError } from '../cldl-error.ts';

/**
 * A configuration that cannot run: names the key, where its value came from, what is wrong with it
 * and the form expected. The entry point prints the message alone, without a stack, and exits 78
 * (EX_CONFIG).
 */
export class ConfigError extends CldlError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('CLDL_CONFIG', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}
