import path from 'node:path';
import v8 from 'node:v8';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ScaleTarget } from './commands/scale';
import { PIDS_VARIABLE } from './config/defaults';
import { EXIT_FAILURE, EXIT_USAGE, errorMessage, MyclusterError, UsageError } from './errors';

function parseWorkerCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`--workers takes a whole number of workers >= 1, got "${value}"`);
  }
  return Number(value);
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(seconds > 0)) throw new InvalidArgumentError(`--timeout takes a number of seconds > 0, got "${value}"`);
  return seconds;
}

function parseTitlePrefix(value: string): string {
  if (!/^[\w.@-]{1,64}$/.test(value)) {
    throw new InvalidArgumentError(`--workerTitlePrefix takes letters, digits, ".", "_", "-" or "@" (at most 64), got "${value}"`);
  }
  return value;
}

function parseLineCount(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError(`-n takes a whole number of lines >= 0, got "${value}"`);
  return Number(value);
}

/** `scale`'s argument: a worker count (`3`) or a change to the current one (`+2`, `-1`). */
function parseScaleTarget(value: string): ScaleTarget {
  const match = /^([+-]?)(\d{1,6})$/.exec(value);
  const number = Number(match?.[2]);
  if (!match || number < 1) throw new InvalidArgumentError(`scale takes N, +N or -N (N a whole number >= 1), got "${value}"`);
  if (!match[1]) return { count: number };
  return { delta: match[1] === '-' ? -number : number };
}

function version(): string {
  return (require('../package.json') as { version: string }).version;
}

interface StartOptions {
  workers?: number;
  pids?: string;
  workerTitlePrefix?: string;
  silent?: boolean;
  daemon?: boolean;
  watch?: boolean;
}

/** Commander's error on one line: its first line, and its "(Did you mean …?)" line when it has one. */
function withSuggestion(message: string): string {
  const [first, ...rest] = message.trim().split('\n');
  const suggestion = rest.find((line) => line.startsWith('(Did you mean'));
  return suggestion ? `${first} ${suggestion}` : first;
}

// Each command loads its modules lazily with require(), not import(): import() would load Node's ESM
// loader into the master for good (about 0.5 MB of its idle memory).
function buildProgram(): Command {
  const program = new Command('mycluster')
    .description('Run a Node.js app as a supervised cluster: pidfiles, signals, zero-downtime rolling reloads.')
    .version(version(), '-v, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(`${withSuggestion(message)}\n`) });

  program
    .command('start')
    .description('start the app: one process, or a master and N workers with --workers or "cluster"')
    .argument('[mode]', '"cluster" to run a master and workers (same as --workers with the default count)')
    .option('--workers <n>', 'run a master and N workers (default N: CPUs - 1, at least 1)', parseWorkerCount)
    .option('--workerTitlePrefix <prefix>', 'process title and pidfile prefix of the workers', parseTitlePrefix)
    .option('--pids <dir>', 'the pid folder (default: config.general.paths.pid); two clusters in one checkout need one each')
    .option('--silent', 'print no logs')
    .option('--daemon', 'detach (cluster mode): logs go to log/mycluster.log; returns once every worker is ready')
    .option('--watch', 'development: rolling reload when project files change')
    .action(async (mode: string | undefined, options: StartOptions) => {
      if (mode !== undefined && mode !== 'cluster') throw new UsageError(`start takes "cluster" or nothing, got "${mode}"`);
      if (options.silent) process.env.MYCLUSTER_SILENT = '1';
      // Through the environment, so the workers (which read the config afresh) and --daemon's child see it too.
      if (options.pids) process.env[PIDS_VARIABLE] = path.resolve(options.pids);
      const clustered = mode === 'cluster' || options.workers !== undefined;
      if ((options.daemon || options.watch) && !clustered) {
        throw new UsageError(`--${options.daemon ? 'daemon' : 'watch'} needs cluster mode: add --workers=N or "cluster"`);
      }
      if (options.daemon) {
        const { startDaemon } = require('./commands/daemon.js') as typeof import('./commands/daemon.js');
        await startDaemon(process.argv.slice(2).filter((argument) => argument !== '--daemon'));
      } else if (clustered) {
        // The master is small and mostly idle: without V8's optimizing tiers it needs ~5 MB less memory, and
        // V8's memory reducer, started 1 s (not 8 s) after start-up, gives back the heap start-up used.
        // (Workers are forked with the original execArgv, so the app runs at full speed.)
        v8.setFlagsFromString('--lite-mode --gc-memory-reducer-start-delay-ms=1000');
        const { runCluster } = require('./master/main.js') as typeof import('./master/main.js');
        await runCluster({ workers: options.workers, workerTitlePrefix: options.workerTitlePrefix, watch: options.watch });
      } else {
        const { runSingleProcess } = require('./worker/standalone.js') as typeof import('./worker/standalone.js');
        await runSingleProcess();
      }
    });

  const withClusterLocation = (command: Command, timeoutHelp: string): Command =>
    command
      .option('--pids <dir>', 'the pid folder of the cluster (default: config.general.paths.pid of PROJECT_ROOT or the cwd)')
      .addOption(new Option('--timeout <seconds>', timeoutHelp).argParser(parseSeconds));

  withClusterLocation(program.command('status'), 'wait up to this many seconds for a starting cluster to publish its state (default: no wait)')
    .description("show the running cluster's master and workers")
    .option('--json', 'print JSON')
    .action(async (options: { pids?: string; json?: boolean; timeout?: number }) => {
      const { status } = require('./commands/control.js') as typeof import('./commands/control.js');
      await status(options);
    });

  withClusterLocation(program.command('reload'), 'give up waiting after this many seconds (default: 300)')
    .description('rolling reload (USR2) and wait until it finished; exit 1 if it was aborted')
    .option('--json', 'print the result as JSON')
    .action(async (options: { pids?: string; timeout?: number; json?: boolean }) => {
      const { reload } = require('./commands/control.js') as typeof import('./commands/control.js');
      await reload(options);
    });

  withClusterLocation(program.command('upgrade'), 'give up waiting after this many seconds (default: 300)')
    .description('replace the master itself (the mycluster and Node installed now) without closing its sockets; exit 1 if the new one did not come up')
    .option('--node <path>', "the node binary for the new master (default: the running master's path)")
    .option('--json', 'print the result as JSON')
    .action(async (options: { pids?: string; timeout?: number; json?: boolean; node?: string }) => {
      const { upgrade } = require('./commands/upgrade.js') as typeof import('./commands/upgrade.js');
      await upgrade(options);
    });

  withClusterLocation(program.command('stop'), 'give up waiting after this many seconds (default: 120)')
    .description('stop the cluster (TERM) and wait until the master is gone')
    .option('--json', 'print the result as JSON')
    .action(async (options: { pids?: string; timeout?: number; json?: boolean }) => {
      const { stop } = require('./commands/control.js') as typeof import('./commands/control.js');
      await stop(options);
    });

  withClusterLocation(program.command('scale'), 'give up waiting after this many seconds (default: 120)')
    .description('set the worker count (TTIN/TTOU) and wait until that many workers are ready')
    .argument('<count>', 'N workers, or +N / -N more or fewer than now', parseScaleTarget)
    .option('--json', 'print the result as JSON')
    .action(async (target: ScaleTarget, options: { pids?: string; timeout?: number; json?: boolean }) => {
      const { scale } = require('./commands/scale.js') as typeof import('./commands/scale.js');
      await scale(target, options);
    });

  program
    .command('logs')
    .description("the daemon's log file (start --daemon): the last lines, one per event on a terminal, JSON lines with --json or in a pipe")
    .option('-f, --follow', 'keep printing new lines, across a logrotate (like tail -F)')
    .option('-n, --lines <n>', 'how many of the last lines to print', parseLineCount, 50)
    .option('--json', 'print the JSON lines as they are in the file')
    .option('--pids <dir>', "the pid folder of a running cluster; its log file is the one it published (default: the project's)")
    .action(async (options: { follow?: boolean; lines: number; json?: boolean; pids?: string }) => {
      const { showLogs } = require('./commands/logs.js') as typeof import('./commands/logs.js');
      await showLogs(options);
    });

  program
    .command('config')
    .description('the resolved config for this NODE_ENV and ACTIONHERO_ROLE, with where each value came from; secrets redacted')
    .option('--json', 'print JSON')
    .addOption(new Option('--check', 'print one line, OK or the error, and exit 0 or 1: a pre-flight for deploys').conflicts('json'))
    .action(async (options: { json?: boolean; check?: boolean }) => {
      const { showConfig } = require('./commands/config.js') as typeof import('./commands/config.js');
      await showConfig(options);
    });

  program
    .command('generate')
    .description('scaffold config/, actions/, tasks/, initializers/, public/, a Procfile, nginx.conf, a systemd unit and .gitignore lines; never overwrites')
    .argument('[dir]', 'the project directory, created when missing (default: PROJECT_ROOT or the cwd)')
    .action(async (dir: string | undefined) => {
      const { describeGenerated, generate } = require('./commands/generate.js') as typeof import('./commands/generate.js');
      const directory = path.resolve(dir ?? (process.env.PROJECT_ROOT || process.cwd()));
      process.stdout.write(describeGenerated(await generate({ directory }), process.cwd()));
    });

  program
    .command('queues')
    .description('task state in Redis: queues, lengths, jobs in progress, failed, delayed, scheduler leader, memory, growth')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { loadConfig } = require('./config/index.js') as typeof import('./config/index.js');
      const { resolveProjectRoot } = require('./shared/project.js') as typeof import('./shared/project.js');
      const queues = require('./commands/queues.js') as typeof import('./commands/queues.js');
      const report = await queues.queuesReport(await loadConfig({ projectRoot: resolveProjectRoot() }));
      process.stdout.write(options.json ? queues.formatQueuesJson(report) : queues.formatQueuesTable(report));
    });

  return program;
}

/** Run the CLI. Errors are one line on stderr and an exit code; never a stack trace. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const code = exitCodeOf(error);
    if (!(error instanceof CommanderError)) process.stderr.write(`mycluster: ${errorMessage(error).split('\n')[0]}\n`);
    // Exit now: whatever the failed command left open (an initializer's timer, a Redis retry) must not keep it running.
    process.exit(code);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end with a CommanderError whose exitCode is 0.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof MyclusterError) return error.exitCode;
  return EXIT_FAILURE;
}
