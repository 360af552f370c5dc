import type { Logger } from 'pino';
import { loadConfig, roleFromEnv } from '../config';
import { appKind } from '../config/app-kind';
import type { Config } from '../config/types';
import { type RunningApp, startApp } from '../runtime/app';
import { createLogger } from '../shared/logger';
import { resolveProjectRoot } from '../shared/project';

export interface BootedApp {
  config: Config;
  log: Logger;
  app: RunningApp;
}

/** Read the config afresh (unless given, just read), make this process's logger, and start the app runtime. */
export async function bootApp(options: {
  workerSlot: number | null;
  clustered: boolean;
  onLogger: (log: Logger) => void;
  config?: Config;
}): Promise<BootedApp> {
  const projectRoot = resolveProjectRoot();
  const config = options.config ?? (await loadConfig({ projectRoot }));
  const role = roleFromEnv(process.env);
  const log = createLogger({
    level: config.logger.level,
    role,
    slot: options.workerSlot ?? undefined,
    filteredParams: config.general.filteredParams,
    file: process.env.MYCLUSTER_LOG_FILE || undefined,
  });
  options.onLogger(log);
  const app =
    appKind(projectRoot) === 'actionhero'
      ? await (await import('../runtime/actionhero/app.js')).startActionheroApp({
          config,
          log,
          role,
          projectRoot,
          clustered: options.clustered,
          workerSlot: options.workerSlot,
        })
      : await startApp({ config, log, role, projectRoot, workerSlot: options.workerSlot, clustered: options.clustered });
  return { config, log, app };
}

/** A cluster worker's logger for the moments before the config is read (or when it cannot be); no slot yet: a spare. */
export function bootstrapLogger(workerSlot: number | null): Logger {
  let role: string;
  try {
    role = roleFromEnv(process.env);
  } catch {
    role = 'unknown';
  }
  return createLogger({ level: 'info', role, slot: workerSlot ?? undefined, spare: workerSlot === null, file: process.env.MYCLUSTER_LOG_FILE || undefined });
}
