import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { roleFromEnv } from '../config';
import type { Role } from '../config/types';
import { errorMessage } from '../errors';
import { listModuleFiles, registerTypeScript } from '../shared/load-module';
import { preloadLogger } from '../shared/logger';
import { resolveProjectRoot } from '../shared/project';

/** The parts of the runtime a worker loads on first use rather than at boot. */
export type LazyPart = 'tasks' | 'static' | 'typescript';

/**
 * The lazy parts a worker of `role` in this project will need, guessed from the default folders (a spare reads
 * no config: the config is read afresh when it is activated). Task processing for a task worker, or for a
 * worker of both roles whose app defines tasks; static files when `public/` exists; tsx for `.ts` files.
 */
export function neededLazyParts(role: Role, projectRoot: string): LazyPart[] {
  const parts: LazyPart[] = [];
  const hasModules = (folder: string, extension?: string): boolean =>
    listModuleFiles([path.join(projectRoot, folder)]).some((file) => !extension || file.endsWith(extension));
  if (role === 'worker' || (role === 'all' && hasModules('tasks'))) parts.push('tasks');
  if (role !== 'worker' && fs.existsSync(path.join(projectRoot, 'public'))) parts.push('static');
  if (['config', 'actions', 'tasks', 'initializers'].some((folder) => hasModules(folder, '.ts'))) parts.push('typescript');
  return parts;
}

/**
 * A spare loads the parts its worker will need before it stands by, so that taking it stays a boot of
 * milliseconds, although a worker forked afresh loads only what it uses. pino too: its worker will log.
 */
export function warmUpSpare(log: Logger): void {
  try {
    preloadLogger();
    const projectRoot = resolveProjectRoot();
    for (const part of neededLazyParts(roleFromEnv(process.env), projectRoot)) {
      if (part === 'tasks') require('../runtime/tasks/index.js');
      else if (part === 'static') (require('../runtime/web/static.js') as typeof import('../runtime/web/static')).loadSend();
      else registerTypeScript(path.join(projectRoot, 'config'));
    }
  } catch (error) {
    // The worker it becomes loads the part again when it needs it, and reports the error then.
    log.debug({ err: error }, `spare warm-up failed: ${errorMessage(error)}`);
  }
}
