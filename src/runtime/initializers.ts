import { BootError, errorMessage } from '../errors';
import { withDeadline } from '../shared/deadline';
import { exportedDefinitions, listModuleFiles, loadUserModule } from '../shared/load-module';
import type { AppContext, InitializerDefinition } from './types';

/** The user's initializers, in name order (the order they start in). */
export async function loadInitializers(folders: string[]): Promise<InitializerDefinition[]> {
  const initializers: InitializerDefinition[] = [];
  for (const file of listModuleFiles(folders)) {
    let exports: Record<string, unknown>;
    try {
      exports = await loadUserModule(file);
    } catch (error) {
      throw new BootError(`initializer ${file} failed to load: ${errorMessage(error)}`, { cause: error });
    }
    for (const definition of exportedDefinitions(exports)) {
      const candidate = definition as Partial<InitializerDefinition> | undefined;
      if (!candidate || typeof candidate.name !== 'string') throw new BootError(`initializer ${file} must export { name, start, stop }`);
      if (initializers.some((other) => other.name === candidate.name)) throw new BootError(`initializer ${candidate.name} (${file}) is defined twice`);
      initializers.push(candidate as InitializerDefinition);
    }
  }
  return initializers.sort((a, b) => a.name.localeCompare(b.name));
}

/** Run one lifecycle step with a deadline, so a hung initializer cannot hang the boot or the stop forever. */
function withTimeout(step: () => unknown, timeoutMs: number, what: string): Promise<unknown> {
  return withDeadline(Promise.resolve().then(step), timeoutMs, () => new BootError(`${what} did not finish within ${timeoutMs} ms`));
}

/** Start every initializer in order; returns a stop function that stops the started ones in reverse. */
export async function startInitializers(
  initializers: InitializerDefinition[],
  context: AppContext,
  timeoutMs: number,
): Promise<() => Promise<void>> {
  const started: InitializerDefinition[] = [];
  const stopAll = async (): Promise<void> => {
    for (const initializer of [...started].reverse()) {
      try {
        if (initializer.stop) await withTimeout(() => initializer.stop?.(context), timeoutMs, `initializer ${initializer.name} stop()`);
      } catch (error) {
        context.log.error({ err: error, initializer: initializer.name }, `initializer ${initializer.name} failed to stop: ${errorMessage(error)}`);
      }
    }
  };
  for (const initializer of initializers) {
    try {
      if (initializer.start) await withTimeout(() => initializer.start?.(context), timeoutMs, `initializer ${initializer.name} start()`);
    } catch (error) {
      await stopAll();
      throw new BootError(`initializer ${initializer.name} failed to start: ${errorMessage(error)}`, { cause: error });
    }
    started.push(initializer);
    context.log.debug({ initializer: initializer.name }, `initializer ${initializer.name} started`);
  }
  return stopAll;
}
