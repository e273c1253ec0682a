#!/usr/bin/env node
/** The `caliscope` command. Each command lives in cli/commands/ and only wires options to core functions. */
import { Command } from 'commander';
import { registerBundleCommands } from './commands/bundle.js';
import { registerIptablesCommand } from './commands/iptables.js';
import { registerSelectorCommands } from './commands/selector.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerTraceCommand } from './commands/trace.js';
import { registerDiagnoseCommand } from './commands/diagnose.js';
import { registerCollectCommands } from './commands/collect.js';
import { registerServeCommand } from './commands/serve.js';
import { registerReportCommand } from './commands/report.js';
import { registerLabCommands } from './commands/lab.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('caliscope')
    .description('Follow the packet through a Calico cluster: where it is dropped, by which rule, and why.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`caliscope: ${str.replace(/^error: /, 'error: ')}`) });
  registerBundleCommands(program);
  registerIptablesCommand(program);
  registerSelectorCommands(program);
  registerPolicyCommands(program);
  registerTraceCommand(program);
  registerDiagnoseCommand(program);
  registerCollectCommands(program);
  registerServeCommand(program);
  registerReportCommand(program);
  registerLabCommands(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((e: Error) => {
    process.stderr.write(`caliscope: error: ${e.message}\n`);
    process.exit(2);
  });
