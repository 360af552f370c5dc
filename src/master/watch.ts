import path from 'node:path';
import type { Logger } from 'pino';

/** Folders a change in which never means "reload": dependencies, runtime files, VCS. */
const IGNORED = new Set(['node_modules', 'pids', 'log', '.git']);
const DEBOUNCE_MS = 300;

/**
 * `--watch` (development): a rolling reload when project files change, debounced so a save of many files
 * (a git checkout, an editor's swap files) is one reload. chokidar is loaded only when watching. The watcher
 * lives as long as the master: the master's exit closes it, and a change seen during a stop asks for a reload
 * the arbiter ignores.
 */
export async function watchProject(projectRoot: string, log: Logger, reload: (reason: string) => void): Promise<void> {
  const { watch } = require('chokidar') as typeof import('chokidar');
  const watcher = watch(projectRoot, {
    ignoreInitial: true,
    ignored: (file: string) => {
      const relative = path.relative(projectRoot, file);
      return relative.split(path.sep).some((part) => IGNORED.has(part)) || /(^|[/\\])\.[^/\\]*\.sw.$|~$/.test(relative);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const changed = new Set<string>();
  watcher.on('all', (_event, file) => {
    changed.add(path.relative(projectRoot, file));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...changed];
      changed.clear();
      log.info({ files }, `--watch: ${files.length} file(s) changed (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}); reloading`);
      reload('--watch');
    }, DEBOUNCE_MS);
  });
  watcher.on('error', (error) => log.warn({ err: error }, `--watch: ${String(error)}`));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  log.info({ projectRoot }, `--watch: watching ${projectRoot} for changes`);
}
