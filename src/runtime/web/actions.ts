import type { Logger } from 'pino';
import { loadDefinitions, namedDefinitionProblem } from '../../shared/load-module';
import type { ActionDefinition } from '../types';

function validAction(value: unknown): ActionDefinition | string {
  const problem = namedDefinitionProblem('action', value, 'an object with name and run');
  if (problem) return problem;
  const action = value as ActionDefinition;
  return typeof action.run === 'function' ? action : `action "${action.name}" has no run function`;
}

/** Every action exported by a module file under the folders (recursively); a missing folder has none. */
export async function loadActions(folders: string[], log: Logger): Promise<Map<string, ActionDefinition>> {
  const actions = new Map<string, ActionDefinition>();
  for (const [name, { definition, file }] of await loadDefinitions('action', folders, validAction)) {
    actions.set(name, definition);
    log.debug({ action: name, file }, 'action loaded');
  }
  return actions;
}
