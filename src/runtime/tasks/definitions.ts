import { loadDefinitions, namedDefinitionProblem } from '../../shared/load-module';
import type { TaskDefinition } from '../types';

/** The definition as a TaskDefinition (queue defaults to `default`), or a message saying what is wrong. */
function validTask(value: unknown): TaskDefinition | string {
  const problem = namedDefinitionProblem('task', value, 'an object with name, queue and run');
  if (problem) return problem;
  const task = value as Partial<TaskDefinition> & { name: string };
  if (typeof task.run !== 'function') return `task "${task.name}" has no run function`;
  if (task.queue !== undefined && (typeof task.queue !== 'string' || task.queue === '')) {
    return `task "${task.name}" has a queue that is not a non-empty string`;
  }
  if (task.frequency !== undefined && !(typeof task.frequency === 'number' && task.frequency >= 0)) {
    return `task "${task.name}" has a frequency that is not a number of ms >= 0`;
  }
  return { ...(task as TaskDefinition), queue: task.queue ?? 'default' };
}

/**
 * Task definitions from the module files under `paths` (recursively): `export default`, `module.exports`,
 * or an array of them. A file that fails to load, an invalid definition or a duplicate name is a BootError
 * naming the file.
 */
export async function loadTaskDefinitions(paths: string[]): Promise<Map<string, TaskDefinition>> {
  const loaded = await loadDefinitions('task', paths, validTask);
  return new Map([...loaded].map(([name, { definition }]) => [name, definition]));
}
