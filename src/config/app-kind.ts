/**
 * Which app a worker runs: mycluster's own runtime (actions, tasks, initializers) or an ActionHero (>= 22)
 * project's `Process`. Decided from `MYCLUSTER_APP`, else from the project's package.json: the master reads
 * that file only, never the app's code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';

export type AppKind = 'actionhero' | 'mycluster';

export const APP_VARIABLE = 'MYCLUSTER_APP';
const APP_VALUES = ['auto', 'actionhero', 'mycluster'] as const;

/** The first ActionHero major without `start cluster`: from it on, a project relies on a supervisor. */
const FIRST_ACTIONHERO_MAJOR = 22;

/** `MYCLUSTER_APP` (`auto`, the default; `actionhero`; `mycluster`), else what the project's package.json says. */
export function appKind(projectRoot: string, env: NodeJS.ProcessEnv = process.env): AppKind {
  const value = env[APP_VARIABLE] || 'auto';
  if (!(APP_VALUES as readonly string[]).includes(value)) {
    throw new ConfigError(`${APP_VARIABLE} must be one of ${APP_VALUES.join(', ')}, got ${JSON.stringify(value)}`, undefined, APP_VARIABLE);
  }
  if (value !== 'auto') return value as AppKind;
  return dependsOnActionhero(readPackageJson(projectRoot)) ? 'actionhero' : 'mycluster';
}

/** `dependencies.actionhero` with a version range whose major is 22 or more (a tag or URL counts as current). */
export function dependsOnActionhero(packageJson: unknown): boolean {
  const spec = (packageJson as { dependencies?: Record<string, unknown> } | undefined)?.dependencies?.actionhero;
  if (typeof spec !== 'string') return false;
  const major = /^[\s^~>=v]*(\d+)/.exec(spec)?.[1];
  return major === undefined || Number(major) >= FIRST_ACTIONHERO_MAJOR;
}

function readPackageJson(projectRoot: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
  } catch {
    return undefined; // no package.json, or not JSON: not an ActionHero project as far as mycluster can tell
  }
}
