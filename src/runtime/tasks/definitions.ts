import { BootError, errorMessage } from '../../errors';
import { exportedDefinitions, listModuleFiles, loadUserModule } from '../../shared/load-module';
import type { TaskDefinition } from '../types';

/** The definition as a TaskDefinition (queue defaults to `default`), or a message saying what is wrong. */
function validTask(value: unknown): TaskDefinition | string {
  if (!value || typeof value !== 'object') return 'exports no task definition (an object with name, queue and run)';
  const task = value as Partial<TaskDefinition>;
  if (typeof task.name !== 'string' || task.name === '') return 'exports a task without a name';
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
  const definitions = new Map<string, TaskDefinition>();
  const fileOfTask = new Map<string, string>();
  for (const file of listModuleFiles(paths)) {
    let exports;
    try {
      exports = await loadUserModule(file);
    } catch (error) {
      throw new BootError(`task file ${file} failed to load: ${errorMessage(error)}`, { cause: error });
    }
    for (const value of exportedDefinitions(exports)) {
      const task = validTask(value);
      if (typeof task === 'string') throw new BootError(`task file ${file} ${task}`);
      const earlier = fileOfTask.get(task.name);
      if (earlier) throw new BootError(`task file ${file} defines task "${task.name}" again (already defined in ${earlier})`);
      definitions.set(task.name, task);
      fileOfTask.set(task.name, file);
    }
  }
  return definitions;
}
