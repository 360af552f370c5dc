import { BootError, errorMessage } from '../errors';
import { withDeadline } from '../shared/deadline';
import { loadDefinitions, namedDefinitionProblem } from '../shared/load-module';
import type { AppContext, InitializerDefinition } from './types';

function validInitializer(value: unknown): InitializerDefinition | string {
  const problem = namedDefinitionProblem('initializer', value, 'an object with name, start and stop');
  if (problem) return problem;
  const initializer = value as InitializerDefinition;
  for (const step of ['start', 'stop'] as const) {
    if (initializer[step] !== undefined && typeof initializer[step] !== 'function')
      return `initializer "${initializer.name}" has a ${step} that is not a function`;
  }
  return initializer;
}

/** The user's initializers, in name order (the order they start in). */
export async function loadInitializers(folders: string[]): Promise<InitializerDefinition[]> {
  const loaded = await loadDefinitions('initializer', folders, validInitializer);
  return [...loaded.values()].map(({ definition }) => definition).sort((a, b) => a.name.localeCompare(b.name));
}

/** Run one lifecycle step with a deadline, so a hung initializer cannot hang the boot or the stop forever. */
function withTimeout(step: () => unknown, timeoutMs: number, what: string): Promise<unknown> {
  return withDeadline(Promise.resolve().then(step), timeoutMs, () => new BootError(`${what} did not finish within ${timeoutMs} ms`));
}

/** Start every initializer in order; returns a stop function that stops the started ones in reverse. */
export async function startInitializers(initializers: InitializerDefinition[], context: AppContext, timeoutMs: number): Promise<() => Promise<void>> {
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
