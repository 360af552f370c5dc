import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond';

export type Params = Record<string, unknown>;

/** The request's params: query string, then a JSON or urlencoded body (the body wins). */
export async function readParams(request: IncomingMessage, url: URL, bodyLimit: number): Promise<Params> {
  const query = Object.fromEntries(url.searchParams);
  const type = mediaType(request);
  if (type === 'application/json' || type.endsWith('+json')) {
    return { ...query, ...parseJsonObject(await readBody(request, bodyLimit)) };
  }
  if (type === 'application/x-www-form-urlencoded') {
    return { ...query, ...Object.fromEntries(new URLSearchParams(await readBody(request, bodyLimit))) };
  }
  if (Number(request.headers['content-length']) > bodyLimit) throw tooLarge(bodyLimit);
  return query;
}

function mediaType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function tooLarge(bodyLimit: number): HttpError {
  return new HttpError(413, `the request body is larger than ${bodyLimit} bytes`);
}

function parseJsonObject(text: string): Params {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'the JSON request body must be an object');
  }
  return value as Params;
}

/** The body as UTF-8; past bodyLimit bytes a 413, and the rest is discarded unread. */
function readBody(request: IncomingMessage, bodyLimit: number): Promise<string> {
  if (Number(request.headers['content-length']) > bodyLimit) return Promise.reject(tooLarge(bodyLimit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= bodyLimit) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData);
      // Keep reading into nothing while the 413 goes out, so closing the socket does not reset it.
      request.resume();
      reject(tooLarge(bodyLimit));
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
    // A no-op once the promise settled: then 'end' came first, or the limit was passed.
    request.once('close', () => reject(new HttpError(400, 'the client closed the connection before sending the whole body')));
  });
}
