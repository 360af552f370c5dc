// {{NAME}}: the web server of each worker (node:http). Actions are served at /{urlPathForActions}/<name>,
// static files from public/. The master holds the listening socket; workers share it (node:cluster).

const path = require('node:path');

// The project root: this file is <root>/config/servers/web.js.
const root = path.resolve(__dirname, '..', '..');

/** An env flag (true/1/yes/on, false/0/no/off) or the fallback when unset. */
function envFlag(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  return /^(true|1|yes|on)$/i.test(value);
}

exports.default = {
  servers: {
    web: {
      // Off for task workers: ACTIONHERO_ROLE=worker, or ENABLE_WEB_SERVER=false on the Procfile's worker line.
      enabled: envFlag('ENABLE_WEB_SERVER', process.env.ACTIONHERO_ROLE !== 'worker'),
      // port: mycluster's built-in default reads PORT, a TCP port number or a unix socket path (8080 unset).
      // The address a TCP port listens on.
      bindIP: '0.0.0.0',
      // Actions at /api/<name>.
      urlPathForActions: 'api',
      // Largest request body in bytes (a bigger one gets 413). Keep client_max_body_size in nginx.conf alike.
      bodyLimit: 1024 * 1024,
      // ms an idle keep-alive connection stays open. Above nginx's upstream keepalive_timeout (nginx.conf),
      // so nginx closes idle connections first and never sends a request on one the app is closing.
      keepAliveTimeout: 5_000,
      // ms to receive a whole request; a slower client gets 408.
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      // On a rolling reload, an old worker closes an idle keep-alive connection once idle this long.
      drainIdleGrace: 1_000,
      // What each response tells about the server and the requester.
      metadataOptions: { serverInformation: true, requesterInformation: false },
    },
  },
};

exports.production = {
  servers: {
    web: {
      // Behind nginx: a unix socket in the pid folder, the one nginx.conf's upstream names.
      // PORT still wins (Procfile platforms set it).
      port: (config) => (process.env.PORT ? config.servers.web.port : path.resolve(root, config.general.paths.pid, 'web.sock')),
      // Only nginx talks to the socket: the owner and its group may connect (nginx's user must be in
      // that group; mycluster.service sets Group=www-data). 0o666 lets anyone on the host connect.
      socketMode: 0o660,
      // Don't tell the world which host answered.
      metadataOptions: { serverInformation: false, requesterInformation: false },
    },
  },
};

exports.test = {
  servers: {
    web: {
      // Tests on a TCP port on loopback only; PORT picks it (8080 when unset).
      bindIP: '127.0.0.1',
      metadataOptions: { serverInformation: true, requesterInformation: true },
    },
  },
};
