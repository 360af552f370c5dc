/**
 * Whether this process stops to be replaced (a rolling reload) rather than to go away (a stop, a scale
 * down): a drain tells websocket clients 1012 Service Restart or 1001 Going Away accordingly. Kept on
 * `process`, so an app's own copy of mycluster (`require('mycluster')` in an initializer) agrees with the worker's.
 */
const RESTARTING = Symbol.for('mycluster.restarting');

type Marked = { [RESTARTING]?: true };

export function markRestarting(): void {
  (process as Marked)[RESTARTING] = true;
}

export function isRestarting(): boolean {
  return (process as Marked)[RESTARTING] === true;
}
