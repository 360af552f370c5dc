/**
 * `mycluster generate [dir]`: scaffold a project from the files in `templates/generate/` (same layout as
 * the result): config/, actions/, tasks/, initializers/, public/, a Procfile, nginx.conf and a systemd unit,
 * and the `.gitignore` lines for what a running cluster writes. Never overwrites: if any target exists,
 * nothing is created and the error names the existing files; an existing .gitignore only gets the lines it lacks.
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

/** What a running cluster writes into the project (pidfiles, the socket, `start --daemon`'s logs). */
const GITIGNORE_LINES = ['pids/', 'log/'];

/** Folders whose `.js` templates become `.cjs` in a `"type": "module"` project (they are CommonJS). */
const CODE_FOLDERS = ['config', 'actions', 'tasks', 'initializers'];

interface PlannedFile {
  /** Path relative to the project directory, with "/" separators, as messages show it. */
  relative: string;
  target: string;
  content: string;
}

export interface GenerateResult {
  root: string;
  /** Absolute paths of the files created, in order. */
  created: string[];
  /** Absolute paths of existing files that got lines added (.gitignore). */
  updated: string[];
}

/** Scaffold the project in `options.directory`. */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
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
  const gitignore = path.join(root, '.gitignore');
  const existed = statOrUndefined(gitignore) !== undefined;
  const { created, gitignoreWritten } = writeAll(root, planned, gitignore);
  if (!gitignoreWritten) return { root, created, updated: [] };
  return existed ? { root, created, updated: [gitignore] } : { root, created: [...created, gitignore], updated: [] };
}

/**
 * Append the GITIGNORE_LINES the file lacks (`pids`, `/pids` and `/pids/` count as `pids/`), creating the
 * file if need be. Returns whether it wrote anything.
 */
function addGitignoreLines(file: string): boolean {
  let content = '';
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const present = new Set(content.split(/\r?\n/).map((line) => line.trim().replace(/^\//, '').replace(/\/$/, '')));
  const missing = GITIGNORE_LINES.filter((line) => !present.has(line.replace(/\/$/, '')));
  if (missing.length === 0) return false;
  const separator = content === '' || content.endsWith('\n') ? '' : '\n';
  fs.appendFileSync(file, `${separator}# mycluster: pidfiles, the unix socket, \`start --daemon\` logs\n${missing.join('\n')}\n`);
  return true;
}

/**
 * What the CLI prints after generating: the files, then the next steps (paths inside `cwd` relative to it).
 */
export function describeGenerated(result: GenerateResult, cwd: string): string {
  const shown = (file: string): string => {
    const relative = path.relative(cwd, file);
    return relative === '' || relative.startsWith('..') ? file : relative;
  };
  const lines = [...result.created.map((file) => `created ${shown(file)}`), ...result.updated.map((file) => `updated ${shown(file)}`)];
  const steps: string[] = [];
  if (path.resolve(cwd) !== result.root) steps.push(`cd ${shown(result.root)}`);
  if (!fs.existsSync(path.join(result.root, 'node_modules', 'mycluster'))) steps.push('npm install mycluster');
  steps.push(
    'npx mycluster start            # web server on http://localhost:8080/ and task processing (Redis on 127.0.0.1:6379, or REDIS_URL)',
    'ACTIONHERO_ROLE=server npx mycluster start   # the web server only, no task processing',
    "curl 'http://localhost:8080/api/hello?name=Ada'",
    'production: NODE_ENV=production, mycluster.service (systemd), nginx.conf or the Procfile; see the comments in each',
  );
  return `${lines.join('\n')}\n\nNext steps:\n${steps.map((step) => `  ${step}`).join('\n')}\n`;
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
    USER_DIRECTIVE: systemdUserDirective(process.getuid?.(), currentUser(), process.env),
  };
}

/**
 * The unit's `User=` line: the user who generated it. Never root: generated as root, the user sudo was run
 * by, else a commented line to fill in (a unit without `User=` runs as root).
 */
export function systemdUserDirective(uid: number | undefined, username: string, env: NodeJS.ProcessEnv): string {
  if (uid !== 0 && username !== 'root') return `User=${username}`;
  if (env.SUDO_USER && env.SUDO_USER !== 'root') return `User=${env.SUDO_USER}`;
  return '# Generated as root: set the account the app runs as (without User=, systemd runs it as root).\n# User=app';
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
 * Create every file with `wx` (fails rather than overwrite, should one appear after the check), then add the
 * .gitignore lines; on any failure remove what this call created, files and folders, and throw.
 */
function writeAll(root: string, planned: PlannedFile[], gitignore: string): { created: string[]; gitignoreWritten: boolean } {
  const createdFiles: string[] = [];
  const createdFolders: string[] = [];
  try {
    for (const file of planned) {
      const firstCreated = fs.mkdirSync(path.dirname(file.target), { recursive: true });
      if (firstCreated !== undefined) createdFolders.push(firstCreated);
      fs.writeFileSync(file.target, file.content, { flag: 'wx' });
      createdFiles.push(file.target);
    }
    return { created: createdFiles, gitignoreWritten: addGitignoreLines(gitignore) };
  } catch (error) {
    removeCreated(createdFiles, createdFolders);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new MyclusterError(`generate: a file appeared while generating in ${root}: ${errorMessage(error)} (nothing was created)`, { cause: error });
    }
    throw new MyclusterError(`generate: could not write in ${root}: ${errorMessage(error)} (nothing was created)`, { cause: error });
  }
}

/** Undo a failed generate: the files it created, then the folders it created, newest first. */
function removeCreated(files: string[], folders: string[]): void {
  for (const file of [...files].reverse()) fs.rmSync(file, { force: true });
  for (const folder of [...folders].reverse()) fs.rmSync(folder, { recursive: true, force: true });
}
