/** The web runtime of a worker: actions over node:http, static files, and the zero-downtime drain. */
export { loadActions } from './actions';
export { drainServer, drainSignal, trackConnections } from './drain';
export { startWebServer, type WebServer, type WebServerOptions } from './server';
export type { StatusReport } from './status-action';
