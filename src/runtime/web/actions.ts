import type { Logger } from 'pino';
import { BootError, errorMessage } from '../../errors';
import { exportedDefinitions, listModuleFiles, loadUserModule } from '../../shared/load-module';
import type { ActionDefinition } from '../types';

/** Every action exported by a module file under the folders (recursively); a missing folder has none. */
export async function loadActions(folders: string[], log: Logger): Promise<Map<string, ActionDefinition>> {
  const actions = new Map<string, ActionDefinition>();
  const fileOf = new Map<string, string>();
  for (const file of listModuleFiles(folders)) {
    for (const definition of await definitionsIn(file)) {
      const previous = fileOf.get(definition.name);
      if (previous) throw new BootError(`action "${definition.name}" in ${file} is already defined in ${previous}`);
      actions.set(definition.name, definition);
      fileOf.set(definition.name, file);
      log.debug({ action: definition.name, file }, 'action loaded');
    }
  }
  return actions;
}

async function definitionsIn(file: string): Promise<ActionDefinition[]> {
  let exports: Record<string, unknown>;
  try {
    exports = await loadUserModule(file);
  } catch (error) {
    throw new BootError(`cannot load action file ${file}: ${errorMessage(error)}`, { cause: error });
  }
  return exportedDefinitions(exports).map((definition) => {
    if (!isActionDefinition(definition)) {
      throw new BootError(`${file} exports something that is not an action: an action needs a string name and a run function`);
    }
    return definition;
  });
}

function isActionDefinition(value: unknown): value is ActionDefinition {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as { name?: unknown; run?: unknown };
  return typeof candidate.name === 'string' && candidate.name !== '' && typeof candidate.run === 'function';
}
