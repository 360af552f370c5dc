import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WebServerConfig } from '../../config/types';
import type { Params } from './params';

export const SERVER_NAME = 'mycluster';

/** The app's version from its package.json, shown as `apiVersion`; undefined when there is none. */
export async function readApiVersion(projectRoot: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

export interface RequestFacts {
  apiVersion: string | undefined;
  durationMs: number;
  remoteIP: string | undefined;
  params: Params;
  filteredParams: string[];
}

/** The server/requester information `metadataOptions` asks for, added to a JSON object response. */
export function withMetadata(body: unknown, options: WebServerConfig['metadataOptions'], facts: RequestFacts): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const result: Record<string, unknown> = { ...body };
  if (options.serverInformation) {
    result.serverInformation = { serverName: SERVER_NAME, apiVersion: facts.apiVersion, requestDuration: facts.durationMs };
  }
  if (options.requesterInformation) {
    result.requesterInformation = { remoteIP: facts.remoteIP, receivedParams: filterParams(facts.params, facts.filteredParams) };
  }
  return result;
}

function filterParams(params: Params, filtered: string[]): Params {
  const result: Params = { ...params };
  for (const name of filtered) if (name in result) result[name] = '[FILTERED]';
  return result;
}
