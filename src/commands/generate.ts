/**
 * `mycluster generate [dir]`: scaffold a project from the files in `templates/generate/` (same layout as
 * the result): config/, actions/, tasks/, initializers/, a Procfile, nginx.conf and a systemd unit.
 * Never overwrites: if any target exists, nothing is created and the error names the existing files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage, MyclusterError } from '../errors';

export interface GenerateOptions {
  /** The project directory; created when missing. There is no overwrite mode: generate refuses to touch existing files. */
  directory: string;
}

/** Where the templates are: `<package root>/templates/generate`, from `dist/commands/`. */
export const TEMPLATES_DIR = path.join(__dirname, '..', '..', 'templates', 'generate');

/** Folders whose `.js` templates become `.cjs` in a `"type": "module"` project (they are CommonJS). */
const CODE_FOLDERS = ['config', 'actions', 'tasks', 'initializers'];

interface PlannedFile {
  /** Path relative to the project directory, with "/" separators, as messages show it. */
  relative: string;
  target: string;
  content: string;
}

/** Scaffold the project in `options.directory`. Returns the absolute paths created, in order. */
export async function generate(options: GenerateOptions): Promise<string[]> {
  const root = path.resolve(options.directory);
  const stats = statOrUndefined(root);
  if (stats && !stats.isDirectory()) throw new MyclusterError(`generate: ${root} exists and is not a directory`);

  const planned = plan(root);
  const existing = planned.filter((file) => statOrUndefined(file.target, true) !== undefined).map((file) => file.relative);
  if (existing.length > 0) {
    throw new MyclusterError(
      `generate: refusing to overwrite ${existing.length === 1 ? 'an existing file' : 'existing files'} in ${root}: ${existing.join(', ')} (nothing was created)`,
    );
  }
  return writeAll(root, planned);
}

/** Every template, its target path and its content with the placeholders filled in. */
function plan(root: string): PlannedFile[] {
  const values = placeholderValues(root);
  const esmProject = isEsmProject(root);
  return listTemplates(TEMPLATES_DIR).map((relative) => {
    let targetRelative = relative;
    if (esmProject && relative.endsWith('.js') && CODE_FOLDERS.includes(relative.split('/')[0])) {
      targetRelative = `${relative.slice(0, -'.js'.length)}.cjs`;
    }
    const template = fs.readFileSync(path.join(TEMPLATES_DIR, ...relative.split('/')), 'utf8');
    return { relative: targetRelative, target: path.join(root, ...targetRelative.split('/')), content: fill(template, values) };
  });
}

function listTemplates(folder: string, prefix = ''): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    throw new MyclusterError(`generate: the templates folder ${TEMPLATES_DIR} is missing (${errorMessage(error)}); reinstall mycluster`);
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listTemplates(path.join(folder, entry.name), relative));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

function placeholderValues(root: string): Record<string, string> {
  return {
    ROOT: root,
    NAME: projectName(root),
    SOCKET: path.join(root, 'pids', 'web.sock'),
    USER: currentUser(),
  };
}

/** `{{KEY}}` → value; an unknown key is a bug in a template. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new MyclusterError(`generate: unknown placeholder ${match} in a template`);
    return value;
  });
}

/**
 * A name for the upstream, the nginx variable and the systemd unit: the package.json name or the folder's
 * name, made of [a-z0-9_] (nginx variable names allow nothing else).
 */
function projectName(root: string): string {
  let name = path.basename(root);
  const packageJson = readPackageJson(root);
  if (typeof packageJson?.name === 'string' && packageJson.name !== '') name = packageJson.name.replace(/^@[^/]*\//, '');
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (slug === '') return 'app';
  return /^[0-9]/.test(slug) ? `app_${slug}` : slug;
}

function isEsmProject(root: string): boolean {
  return readPackageJson(root)?.type === 'module';
}

function readPackageJson(root: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || 'www-data';
  }
}

/** lstat: a dangling symlink counts as existing too (writing would follow it). */
function statOrUndefined(file: string, noFollow = false): fs.Stats | undefined {
  try {
    return noFollow ? fs.lstatSync(file) : fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Create every file with `wx` (fails rather than overwrite, should one appear after the check); on any
 * failure remove what this call created, files and folders, and throw.
 */
function writeAll(root: string, planned: PlannedFile[]): string[] {
  const createdFiles: string[] = [];
  const createdFolders: string[] = [];
  try {
    for (const file of planned) {
      const firstCreated = fs.mkdirSync(path.dirname(file.target), { recursive: true });
      if (firstCreated !== undefined) createdFolders.push(firstCreated);
      fs.writeFileSync(file.target, file.content, { flag: 'wx' });
      createdFiles.push(file.target);
    }
  } catch (error) {
    for (const file of createdFiles.reverse()) fs.rmSync(file, { force: true });
    for (const folder of createdFolders.reverse()) fs.rmSync(folder, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new MyclusterError(`generate: a file appeared while generating in ${root}: ${errorMessage(error)} (nothing was created)`, { cause: error });
    }
    throw new MyclusterError(`generate: could not write in ${root}: ${errorMessage(error)} (nothing was created)`, { cause: error });
  }
  return createdFiles;
}
