/** Deep merge of config layers, remembering which source last set each key. */

export type PlainObject = Record<string, unknown>;

/** An object literal (or a null-prototype object such as a module namespace); not an array, class instance or function. */
export function isPlainObject(value: unknown): value is PlainObject {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

export function joinKeyPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** Which source (a file, 'built-in defaults', an env variable) last set or deleted each key path. */
export class Provenance {
  private readonly sources = new Map<string, string>();

  /** Records `source` for `keyPath`; whatever was recorded below it was replaced along with it. */
  set(keyPath: string, source: string): void {
    for (const recorded of this.sources.keys()) {
      if (recorded.startsWith(`${keyPath}.`)) this.sources.delete(recorded);
    }
    this.sources.set(keyPath, source);
  }

  /** The source of a key, or else of the nearest parent key that was set or deleted as a whole. */
  sourceOf(keyPath: string): string | undefined {
    for (let path = keyPath; path !== ''; path = path.slice(0, Math.max(path.lastIndexOf('.'), 0))) {
      const source = this.sources.get(path);
      if (source !== undefined) return source;
    }
    return undefined;
  }
}

/**
 * Merges `layer` into `target` in place: plain objects deeply, anything else (arrays included) replaces,
 * `null` deletes the key, `undefined` leaves it as it was. Values are copied, so the config never shares
 * objects with a layer.
 */
export function mergeLayer(target: PlainObject, layer: PlainObject, source: string, provenance: Provenance, keyPath = ''): void {
  for (const [key, value] of Object.entries(layer)) {
    // A JSON "__proto__" key would otherwise reach Object.prototype.
    if (key === '__proto__' || value === undefined) continue;
    const path = joinKeyPath(keyPath, key);
    if (value === null) {
      delete target[key];
      provenance.set(path, source);
    } else if (isPlainObject(value)) {
      if (!isPlainObject(target[key])) {
        target[key] = {};
        provenance.set(path, source);
      }
      mergeLayer(target[key] as PlainObject, value, source, provenance, path);
    } else {
      target[key] = copyData(value);
      provenance.set(path, source);
    }
  }
}

function copyData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyData);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, copyData(child)]));
  return value;
}
