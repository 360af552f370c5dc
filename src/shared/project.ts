import fs from 'node:fs';
import path from 'node:path';

/**
 * The project root as it is right now: `PROJECT_ROOT` (possibly a symlink such as /srv/app/current,
 * resolved anew at every call so a moved link picks the new release) or the cwd.
 */
export function resolveProjectRoot(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.PROJECT_ROOT ? path.resolve(env.PROJECT_ROOT) : process.cwd();
  try {
    return fs.realpathSync(configured);
  } catch {
    return configured;
  }
}

/**
 * The worker entry to fork for a project: `ACTIONHERO_ROOT`'s, else the release's own
 * node_modules/mycluster (so a reload runs the mycluster version the new release installed), else ours.
 */
export function resolveWorkerEntry(projectRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [
    env.ACTIONHERO_ROOT ? path.join(path.resolve(env.ACTIONHERO_ROOT), 'dist', 'worker', 'main.js') : undefined,
    path.join(projectRoot, 'node_modules', 'mycluster', 'dist', 'worker', 'main.js'),
  ];
  for (const candidate of candidates) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  return path.join(__dirname, '..', 'worker', 'main.js');
}
