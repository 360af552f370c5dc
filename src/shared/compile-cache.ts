/**
 * Node's on-disk cache of compiled modules (Node >= 22.1; absent on 20): a process that loads a module compiled
 * before skips its compilation. Enabled on import, so the entries of the CLI, the master and the workers import
 * this first: it then covers mycluster, its dependencies and the app's own files. Node keeps one cache per
 * Node version under the folder, and checks each entry against the module's source. NODE_COMPILE_CACHE (another
 * folder) and NODE_DISABLE_COMPILE_CACHE=1 still decide, as Node documents them.
 */
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

interface CompileCacheApi {
  enableCompileCache?: (directory?: string) => unknown;
  flushCompileCache?: () => void;
}

const api = module as unknown as CompileCacheApi;

/** Per user: a folder another user created in a shared tmpdir would not be writable. */
const directory = path.join(os.tmpdir(), `mycluster-compile-cache-${process.getuid?.() ?? 'user'}`);

api.enableCompileCache?.(directory);

/**
 * Write what this process compiled so far to the cache now (Node >= 22.10), rather than at its exit: a worker
 * killed with SIGKILL, or one that never exits, still leaves it for the next.
 */
export function flushCompileCache(): void {
  api.flushCompileCache?.();
}
