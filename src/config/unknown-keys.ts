/** Unknown keys in the sections mycluster reads: a typo there would otherwise be ignored without a word. */
import { ConfigError } from '../errors';
import { isPlainObject, joinKeyPath, type PlainObject, type Provenance } from './merge';
import { builtInKeyPaths, valueAt } from './validate';

/**
 * The objects whose keys mycluster knows in full. `general`, `general.paths` and `servers` stay open (apps
 * add keys there, as ActionHero apps do), and so do `redis.options` (passed to ioredis) and the app's own sections.
 */
const CLOSED_OBJECTS = ['cluster', 'cluster.restartBackoff', 'servers.web', 'servers.web.metadataOptions', 'tasks', 'redis', 'logger', 'metrics'];

/** Throws a ConfigError naming the first unknown key of a closed object, its source and the nearest known key. */
export function checkUnknownKeys(config: PlainObject, provenance: Provenance): void {
  for (const objectPath of CLOSED_OBJECTS) {
    const object = valueAt(config, objectPath);
    if (!isPlainObject(object)) continue;
    const known = knownKeysOf(objectPath);
    for (const key of Object.keys(object)) {
      if (known.includes(key)) continue;
      const keyPath = joinKeyPath(objectPath, key);
      const source = provenance.sourceOf(keyPath) ?? 'config';
      const suggestion = suggestKey(objectPath, key);
      const hint = suggestion ? `, did you mean ${suggestion}?` : ` (${objectPath} takes ${known.join(', ')})`;
      throw new ConfigError(`${source}: unknown key ${keyPath}${hint}`, source, keyPath);
    }
  }
}

/** The nearest known key to `key` under `objectPath` (a near spelling), else the same name in another section. */
export function suggestKey(objectPath: string, key: string): string | undefined {
  const lowerKey = key.toLowerCase();
  let best: { keyPath: string; distance: number } | undefined;
  for (const sibling of knownKeysOf(objectPath)) {
    const distance = editDistance(lowerKey, sibling.toLowerCase());
    if (distance <= maxDistance(key) && (best === undefined || distance < best.distance)) best = { keyPath: joinKeyPath(objectPath, sibling), distance };
  }
  if (best) return best.keyPath;
  return builtInKeyPaths.find((keyPath) => keyPath.slice(keyPath.lastIndexOf('.') + 1).toLowerCase() === lowerKey);
}

function knownKeysOf(objectPath: string): string[] {
  const prefix = `${objectPath}.`;
  return builtInKeyPaths
    .filter((keyPath) => keyPath.startsWith(prefix) && !keyPath.slice(prefix.length).includes('.'))
    .map((keyPath) => keyPath.slice(prefix.length));
}

/** Short keys take one slip, longer ones two or three: more would suggest unrelated keys. */
function maxDistance(key: string): number {
  return key.length <= 4 ? 1 : key.length <= 8 ? 2 : 3;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}
