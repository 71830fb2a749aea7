import type { Command } from 'commander';
import { runSimulatorCli } from '../../simulator/main.ts';
import { runAction } from '../run-action.ts';

export function registerSimulator(program: Command): void {
  program
    .command('simulator')
    .description('serve the built-in Content Library simulator (cldl simulator --help for its options)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]')
    .action(runAction((args: string[]) => runSimulatorCli(args, 'cldl simulator')));
}
