import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { BootError, errorMessage } from '../../errors';
import { exportedDefinitions, isModuleFile, loadUserModule } from '../../shared/load-module';
import type { TaskDefinition } from '../types';

/** Module files under `folder`, recursively, in a stable order; none when the folder does not exist. */
async function moduleFiles(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new BootError(`cannot read the tasks folder ${folder}: ${errorMessage(error)}`, { cause: error });
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await moduleFiles(full)));
    else if (entry.isFile() && isModuleFile(full)) files.push(full);
  }
  return files;
}

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
  for (const folder of paths) {
    for (const file of await moduleFiles(folder)) {
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
  }
  return definitions;
}
