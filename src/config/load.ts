/**
 * Builds the config: built-in defaults, the project's config files, then the overrides (JSON). Where they are:
 * `MYCLUSTER_CONFIG` / `MYCLUSTER_CONFIG_OVERRIDES` when set; else, for a mycluster app, `ACTIONHERO_CONFIG`
 * (default `<root>/config`) / `ACTIONHERO_CONFIG_OVERRIDES`. In an ActionHero project those two belong to
 * ActionHero: mycluster's default folder is then `<root>/mycluster`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, errorMessage } from '../errors';
import { isModuleFile, listModuleFiles, loadUserModule } from '../shared/load-module';
import { type AppKind, appKind } from './app-kind';
import { builtInDefaults, envVariableOfKey, PIDS_VARIABLE, roleFromEnv, roleKeys } from './defaults';
import { isPlainObject, mergeLayer, type PlainObject, Provenance } from './merge';
import { resolvePathsAgainst, wrapSinglePaths } from './paths';
import { refuseRedisCluster } from './redis-cluster';
import { resolveFunctions, ValueFunctionError } from './resolve';
import type { Config, Role } from './types';
import { checkUnknownKeys } from './unknown-keys';
import { describeValue, validateConfig } from './validate';

const BUILT_IN_DEFAULTS = 'built-in defaults';

/** The env variables that name the config folders and the overrides, and the folder read when none is named. */
interface ConfigSources {
  folders: { variable: string; value: string | undefined };
  overrides: { variable: string; value: string | undefined };
  defaultFolder: string;
}

function configSources(root: string, env: NodeJS.ProcessEnv, kind: AppKind): ConfigSources {
  const pick = (own: string, shared: string): { variable: string; value: string | undefined } =>
    env[own] || kind === 'actionhero' ? { variable: own, value: env[own] } : { variable: shared, value: env[shared] };
  return {
    folders: pick('MYCLUSTER_CONFIG', 'ACTIONHERO_CONFIG'),
    overrides: pick('MYCLUSTER_CONFIG_OVERRIDES', 'ACTIONHERO_CONFIG_OVERRIDES'),
    defaultFolder: path.join(root, kind === 'actionhero' ? 'mycluster' : 'config'),
  };
}

export interface LoadConfigOptions {
  projectRoot: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

interface ConfigFile {
  /** Path relative to the project root, as error messages show it. */
  name: string;
  exports: Record<string, unknown>;
}

/** A loaded config and how it came about. */
export interface LoadedConfig {
  config: Config;
  /** Which source set each key: 'built-in defaults', a config file (relative to the root), or an env variable. */
  sources: Provenance;
  /** The config files read, in merge order, as the sources name them. */
  files: string[];
  environment: string;
  role: Role;
  /** Which runtime the workers run (see app-kind.ts). */
  app: AppKind;
}

/** Loads, merges and validates the config of the project at `projectRoot`. Throws ConfigError. */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  return (await loadConfigWithSources(options)).config;
}

/** As loadConfig, also telling where each value came from. */
export async function loadConfigWithSources({ projectRoot, env = process.env }: LoadConfigOptions): Promise<LoadedConfig> {
  const root = path.resolve(projectRoot);
  const environment = env.NODE_ENV || 'development';
  const role = roleFromEnv(env);
  const app = appKind(root, env);
  const sources = configSources(root, env, app);
  const provenance = new Provenance();
  const config: PlainObject = {};

  mergeLayer(config, builtInDefaults(root, env, role), BUILT_IN_DEFAULTS, provenance);
  if (role !== 'all') {
    for (const keyPath of roleKeys) provenance.set(keyPath, 'ACTIONHERO_ROLE');
  }
  for (const [keyPath, variable] of Object.entries(envVariableOfKey)) {
    if (env[variable]) provenance.set(keyPath, variable);
  }

  const files = await loadConfigFiles(root, sources);
  for (const sectionName of ['default', environment]) {
    for (const file of files) await mergeSection(config, file, sectionName, provenance);
  }
  mergeLayer(config, parseOverrides(sources.overrides), sources.overrides.variable, provenance);
  const pidFolder = env[PIDS_VARIABLE];
  if (pidFolder) mergeLayer(config, { general: { paths: { pid: pidFolder } } }, `start --pids (${PIDS_VARIABLE})`, provenance);

  wrapSinglePaths(config);
  refuseRedisCluster(config, provenance);
  checkUnknownKeys(config, provenance);
  validateConfig(config, provenance);
  resolvePathsAgainst(config, root);
  return { config, sources: provenance, files: files.map((file) => file.name), environment, role, app };
}

async function loadConfigFiles(root: string, sources: ConfigSources): Promise<ConfigFile[]> {
  const paths = new Set<string>();
  for (const location of configLocations(root, sources)) {
    for (const file of moduleFilesAt(location, sources.folders.variable)) paths.add(file);
  }
  const files: ConfigFile[] = [];
  for (const file of paths) {
    const name = displayPath(root, file);
    try {
      files.push({ name, exports: await loadUserModule(file) });
    } catch (error) {
      throw new ConfigError(`${name}: ${describeLoadFailure(error, file, name)}`, name, undefined, { cause: error });
    }
  }
  return files;
}

// The file system is read synchronously: this runs once at start-up (in the master too), and async fs calls
// would start libuv's thread pool there, four threads the idle master does not need.

/** The named folders or files (comma-separated, each of which must exist), else the default folder if present. */
function configLocations(root: string, { folders, defaultFolder }: ConfigSources): string[] {
  const named = (folders.value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (named.length === 0) return fs.existsSync(defaultFolder) ? [defaultFolder] : [];
  const locations = named.map((entry) => path.resolve(root, entry));
  for (const [index, location] of locations.entries()) {
    if (!fs.existsSync(location)) {
      throw new ConfigError(`${folders.variable} names ${named[index]}, but ${location} does not exist`, undefined, folders.variable);
    }
  }
  return locations;
}

/** A file as it is, or a folder's module files at any depth (see listModuleFiles). */
function moduleFilesAt(location: string, variable: string): string[] {
  if (fs.statSync(location).isDirectory()) return listModuleFiles([location]);
  if (isModuleFile(location)) return [location];
  throw new ConfigError(`${variable} names ${location}, which is not a .js, .cjs, .mjs or .ts file`, undefined, variable);
}

/** Resolves the functions of one file's section against the config so far, then merges it. */
async function mergeSection(config: PlainObject, file: ConfigFile, sectionName: string, provenance: Provenance): Promise<void> {
  const section = file.exports[sectionName];
  if (section === undefined) return;
  let resolved: unknown;
  try {
    resolved = await resolveFunctions(section, config as Config);
  } catch (error) {
    if (!(error instanceof ValueFunctionError)) throw error;
    const where = error.keyPath === '' ? `the function of its ${sectionName} section` : `the function for ${error.keyPath}`;
    const message = `${file.name}: ${where} threw: ${oneLine(errorMessage(error.original))}`;
    throw new ConfigError(message, file.name, error.keyPath || undefined, { cause: error.original });
  }
  if (!isPlainObject(resolved)) {
    throw new ConfigError(`${file.name}: its ${sectionName} section must be an object of config keys, got ${describeValue(resolved)}`, file.name);
  }
  mergeLayer(config, resolved, file.name, provenance);
}

/** The JSON object in an overrides variable (`variable` holds `text`); {} when it is unset or empty. */
export function parseOverrides({ variable, value: text }: { variable: string; value: string | undefined }): PlainObject {
  if (!text) return {};
  let overrides: unknown;
  try {
    overrides = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${variable} is not valid JSON: ${errorMessage(error)}`, undefined, variable);
  }
  if (!isPlainObject(overrides)) {
    throw new ConfigError(`${variable} must be a JSON object, got ${describeValue(overrides)}`, undefined, variable);
  }
  return overrides;
}

/** Relative to the project root when inside it, absolute otherwise. */
function displayPath(root: string, file: string): string {
  const relative = path.relative(root, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** The error's message on one line, the file shown as `name`, with the line of a syntax error when Node gives it. */
function describeLoadFailure(error: unknown, file: string, name: string): string {
  const message = oneLine(errorMessage(error)).replaceAll(file, name);
  // require() reports a syntax error's place only in the stack: "<file>:<line>" on its first line.
  const stackHead = error instanceof SyntaxError ? error.stack?.split('\n', 1)[0] : undefined;
  const line = stackHead?.startsWith(`${file}:`) ? stackHead.slice(file.length + 1) : undefined;
  return line ? `failed to load, line ${line}: ${message}` : `failed to load: ${message}`;
}

/** Load errors can span lines (a require stack, an esbuild report); an error message here is one line. */
function oneLine(message: string): string {
  return message
    .split('\nRequire stack:')[0]
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
