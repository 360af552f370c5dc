import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BootError, errorMessage, MyclusterError } from '../errors';

let tsRegistered = false;

/** The extensions a user's config, action, task and initializer files may have. */
export const MODULE_EXTENSIONS = ['.js', '.cjs', '.mjs', '.ts'] as const;

export function isModuleFile(file: string): boolean {
  return (MODULE_EXTENSIONS as readonly string[]).includes(path.extname(file)) && !file.endsWith('.d.ts');
}

/** A `.ts` file to load and no tsx (an optional peer dependency) installed. */
export class TypeScriptLoaderMissingError extends MyclusterError {
  constructor(file: string) {
    super(`${file} is TypeScript: install tsx (npm install --save-dev tsx) to load .ts files`);
  }
}

/**
 * Load one of the user's modules: `.js`/`.cjs` with require, `.mjs` with import(), `.ts` through tsx
 * (registered once, on the first .ts file, so plain-JS projects never load it).
 * Returns the module namespace / exports object.
 */
export async function loadUserModule(file: string): Promise<Record<string, unknown>> {
  const extension = path.extname(file);
  if (extension === '.mjs') {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  }
  if (extension === '.ts' && !registerTypeScript(file)) throw new TypeScriptLoaderMissingError(file);
  try {
    return require(file) as Record<string, unknown>;
  } catch (error) {
    // An ESM-only .js file (a "type": "module" project) cannot be required on Node 20.
    if ((error as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') {
      return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    }
    throw error;
  }
}

/** Register tsx's loader for `.ts` files (once), looked up from `file`; false when tsx is not installed. */
export function registerTypeScript(file: string): boolean {
  if (tsRegistered) return true;
  const api = resolveTsx(file);
  if (api === undefined) return false;
  (require(api) as { register: () => unknown }).register();
  tsRegistered = true;
  return true;
}

/**
 * tsx's CommonJS API: from the project (looked up from the user's file, where a peer dependency is installed),
 * else from beside mycluster (a linked or globally installed mycluster); undefined when neither has it.
 */
function resolveTsx(file: string): string | undefined {
  for (const from of [file, __filename]) {
    try {
      return createRequire(from).resolve('tsx/cjs/api');
    } catch {
      // Not installed there.
    }
  }
  return undefined;
}

/**
 * The definitions a user module exports: `export default x`, `module.exports = x`, or an array of them.
 */
export function exportedDefinitions(exports: Record<string, unknown>): unknown[] {
  const value = 'default' in exports ? exports.default : exports;
  // A CJS module compiled from ESM by tsx has default on default.
  const unwrapped =
    value && typeof value === 'object' && 'default' in (value as object) && !('name' in (value as object)) ? (value as { default: unknown }).default : value;
  return Array.isArray(unwrapped) ? unwrapped : [unwrapped];
}

/** The kinds of definition a user's module files export. */
export type DefinitionKind = 'action' | 'task' | 'initializer';

/**
 * The `kind` definitions the module files under `folders` export (recursively, see listModuleFiles), by name,
 * each with its file. `validate` returns the definition, or what is wrong with it ("has no run function").
 * A file that fails to load, an invalid definition and a name defined twice are BootErrors naming the file.
 */
export async function loadDefinitions<T extends { name: string }>(
  kind: DefinitionKind,
  folders: string[],
  validate: (value: unknown) => T | string,
): Promise<Map<string, { definition: T; file: string }>> {
  const loaded = new Map<string, { definition: T; file: string }>();
  for (const file of listModuleFiles(folders)) {
    let exports: Record<string, unknown>;
    try {
      exports = await loadUserModule(file);
    } catch (error) {
      throw new BootError(`${kind} file ${file} failed to load: ${errorMessage(error)}`, { cause: error });
    }
    for (const value of exportedDefinitions(exports)) {
      const definition = validate(value);
      if (typeof definition === 'string') throw new BootError(`${kind} file ${file} ${definition}`);
      const earlier = loaded.get(definition.name);
      if (earlier) throw new BootError(`${kind} file ${file} defines ${kind} "${definition.name}" again (already defined in ${earlier.file})`);
      loaded.set(definition.name, { definition, file });
    }
  }
  return loaded;
}

/**
 * What is wrong with a value meant as a `kind` definition, as far as every kind goes (an object with a
 * non-empty name), or undefined; `shape` says what the definition should be.
 */
export function namedDefinitionProblem(kind: DefinitionKind, value: unknown, shape: string): string | undefined {
  if (!value || typeof value !== 'object') return `exports no ${kind} definition (${shape})`;
  const { name } = value as { name?: unknown };
  if (typeof name !== 'string' || name === '') return `exports ${kind === 'task' ? 'a' : 'an'} ${kind} without a name`;
  return undefined;
}

/**
 * The module files under each folder, at any depth, sorted by path within a folder and folders in the order
 * given; symlinks are followed, hidden entries (editor and VCS files) skipped, and a missing folder has none.
 */
export function listModuleFiles(folders: string[]): string[] {
  const walk = (folder: string, files: string[]): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(folder, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new BootError(`cannot read the folder ${folder}: ${errorMessage(error)}`, { cause: error });
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const file = path.join(folder, entry.name);
      const stats = entry.isSymbolicLink() ? fs.statSync(file) : entry;
      if (stats.isDirectory()) walk(file, files);
      else if (stats.isFile() && isModuleFile(file)) files.push(file);
    }
  };
  return folders.flatMap((folder) => {
    const files: string[] = [];
    walk(folder, files);
    return files.sort();
  });
}
