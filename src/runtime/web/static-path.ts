/** Which file under the public folders a URL path names: the safety rules of static files, checked before any byte is read. */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** `ignore`: names starting with a dot (but `/.well-known/`) are not found; `allow`: they are served. */
export type StaticDotfiles = 'ignore' | 'allow';

export type StaticTarget =
  /** A file to send: its real path, and the real path of the public folder it is in. */
  | { kind: 'file'; root: string; file: string }
  /** A folder with an index.html, named without its trailing slash: the client is sent to the slashed URL. */
  | { kind: 'folder' };

/**
 * The first match of an encoded URL path under `roots`: a file, or a folder's index.html when the path
 * ends with a slash. Undefined for a malformed path, a NUL, `..`, a hidden name (unless `dotfiles` allows
 * them), or a symlink whose target is outside its public folder.
 */
export async function findStatic(roots: string[], urlPath: string, dotfiles: StaticDotfiles): Promise<StaticTarget | undefined> {
  const segments = safeSegments(urlPath, dotfiles);
  if (!segments) return undefined;
  const namesFolder = urlPath.endsWith('/');
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => undefined);
    if (!realRoot) continue;
    const found = await realEntryInside(realRoot, segments, dotfiles);
    if (found?.stats.isFile() && !namesFolder) return { kind: 'file', root: realRoot, file: found.file };
    if (!found?.stats.isDirectory()) continue;
    const index = await realEntryInside(realRoot, [...segments, 'index.html'], dotfiles);
    if (!index?.stats.isFile()) continue;
    return namesFolder ? { kind: 'file', root: realRoot, file: index.file } : { kind: 'folder' };
  }
  return undefined;
}

/** The decoded path's names, or undefined when it cannot name a servable file. */
function safeSegments(urlPath: string, dotfiles: StaticDotfiles): string[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const segments = decoded.split(/[\\/]+/).filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return undefined;
  if (dotfiles === 'ignore' && isHidden(segments)) return undefined;
  return segments;
}

/** Symlinks resolved: the entry must still be inside the public folder, and not hidden there either. */
async function realEntryInside(realRoot: string, segments: string[], dotfiles: StaticDotfiles): Promise<{ file: string; stats: Stats } | undefined> {
  const file = await realpath(path.join(realRoot, ...segments)).catch(() => undefined);
  if (!file) return undefined;
  const relative = path.relative(realRoot, file);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return undefined;
  if (dotfiles === 'ignore' && isHidden(relative.split(path.sep))) return undefined;
  const stats = await stat(file).catch(() => undefined);
  return stats && { file, stats };
}

/** `.well-known` at the top is the usual exception (RFC 8615: ACME challenges, security.txt). */
function isHidden(segments: string[]): boolean {
  return segments.some((segment, index) => segment.startsWith('.') && !(index === 0 && segment === '.well-known'));
}
