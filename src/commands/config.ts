/** `mycluster config`: the resolved config with where each value came from, secrets redacted; `--check` for a deploy's pre-flight. */
import { type LoadedConfig, loadConfigWithSources } from '../config/load';
import { isPlainObject, joinKeyPath } from '../config/merge';
import { redactSecrets } from '../config/redact';
import { resolveProjectRoot } from '../shared/project';
import { formatTable } from './table';

export interface ConfigEntry {
  key: string;
  value: unknown;
  /** 'built-in defaults', a config file (relative to the project root) or an env variable. */
  source: string;
}

/** Prints the config of the project (PROJECT_ROOT or the cwd); a broken config throws its ConfigError. */
export async function showConfig(options: { json?: boolean; check?: boolean }): Promise<void> {
  const loaded = await loadConfigWithSources({ projectRoot: resolveProjectRoot() });
  const format = options.check ? formatCheckLine : options.json ? formatConfigJson : formatConfigTable;
  process.stdout.write(`${format(loaded)}\n`);
}

/** Every leaf of the config (arrays and empty objects are leaves), secrets redacted, with its source. */
export function configEntries({ config, sources }: LoadedConfig): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  const visit = (value: unknown, keyPath: string): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) visit(child, joinKeyPath(keyPath, key));
    } else if (value !== undefined) {
      entries.push({ key: keyPath, value, source: sources.sourceOf(keyPath) ?? 'unknown' });
    }
  };
  visit(printable(redactSecrets(config)), '');
  return entries;
}

export function formatCheckLine(loaded: LoadedConfig): string {
  const files = loaded.files.length === 1 ? '1 file' : `${loaded.files.length} files`;
  return `config OK: ${files}, ${describeSelection(loaded)}`;
}

export function formatConfigTable(loaded: LoadedConfig): string {
  const rows = configEntries(loaded).map(({ key, value, source }) => [key, displayValue(key, value), source]);
  return [
    `config for ${describeSelection(loaded)}`,
    `files: ${loaded.files.join(', ') || 'none (built-in defaults only)'}`,
    '',
    formatTable([['KEY', 'VALUE', 'SOURCE'], ...rows]),
  ].join('\n');
}

/** `{ environment, role, app, files, config, sources }`: the config nested as the app sees it, `sources` by key path. */
export function formatConfigJson(loaded: LoadedConfig): string {
  const entries = configEntries(loaded);
  const report = {
    environment: loaded.environment,
    role: loaded.role,
    app: loaded.app,
    files: loaded.files,
    config: printable(redactSecrets(loaded.config)),
    sources: Object.fromEntries(entries.map(({ key, source }) => [key, source])),
  };
  return JSON.stringify(report, null, 2);
}

/** A copy JSON can carry: an app's section may hold functions, class instances (a client, a logger) or BigInts. */
function printable(value: unknown): unknown {
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'bigint' || typeof value === 'symbol') return value.toString();
  if (Array.isArray(value)) return value.map(printable);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, printable(child)]));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) return `[${value.constructor?.name ?? 'object'}]`;
  return value;
}

function describeSelection({ environment, role, app }: LoadedConfig): string {
  const selection = `NODE_ENV=${environment}, ${role === 'all' ? 'both roles (ACTIONHERO_ROLE unset)' : `ACTIONHERO_ROLE=${role}`}`;
  return app === 'actionhero' ? `${selection}, ActionHero project (workers run ActionHero; this is mycluster's own config)` : selection;
}

/** JSON, but file modes in octal. */
function displayValue(key: string, value: unknown): string {
  if (key.endsWith('Mode') && Number.isInteger(value)) return `0o${(value as number).toString(8)}`;
  return JSON.stringify(value);
}
