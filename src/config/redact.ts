/** Secrets hidden from what `mycluster config` prints: values of secret-named keys, and credentials in URLs. */
import { isPlainObject } from './merge';

export const REDACTED = '[REDACTED]';

const SECRET_KEY = /passw(or)?d|secret|token|credential|api_?key|private_?key/i;
// scheme://userinfo@ — the userinfo of a URL, up to the first "/" or "@".
const URL_USERINFO = /^([a-z][a-z\d+.-]*:\/\/)([^/@\s]+)@/i;

/** A copy of `value` with every secret replaced by [REDACTED]; `key` is the name `value` is stored under. */
export function redactSecrets(value: unknown, key = ''): unknown {
  if (value === undefined) return value;
  if (SECRET_KEY.test(key)) return REDACTED;
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([child, item]) => [child, redactSecrets(item, child)]));
  return value;
}

/** `redis://user:pass@host` → `redis://user:[REDACTED]@host`; a userinfo without a password (often a token) goes whole. */
function redactUrl(text: string): string {
  return text.replace(URL_USERINFO, (_, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon === -1 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`}@`;
  });
}
