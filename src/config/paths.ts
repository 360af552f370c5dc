/** `general.paths`: a single path accepted where a list is expected, and relative paths made absolute. */
import path from 'node:path';
import { isPlainObject, type PlainObject } from './merge';
import type { Config } from './types';

const SINGLE_PATHS = ['pid', 'log'] as const;
const PATH_LISTS = ['actions', 'tasks', 'public', 'initializers'] as const;

/** Before validation: `actions: 'src/actions'` means `actions: ['src/actions']`. */
export function wrapSinglePaths(config: PlainObject): void {
  const general = config.general;
  if (!isPlainObject(general) || !isPlainObject(general.paths)) return;
  const paths = general.paths;
  for (const key of PATH_LISTS) {
    const value = paths[key];
    if (typeof value === 'string' && value !== '') paths[key] = [value];
  }
}

/** After validation: relative paths are relative to the project root. */
export function resolvePathsAgainst(config: Config, projectRoot: string): void {
  const paths = config.general.paths;
  for (const key of SINGLE_PATHS) paths[key] = path.resolve(projectRoot, paths[key]);
  for (const key of PATH_LISTS) paths[key] = paths[key].map((entry) => path.resolve(projectRoot, entry));
}
