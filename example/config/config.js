// The example app's config. Each file exports `default` plus per-environment sections; any value may be
// a function of the config built so far. The Procfile env (PORT, SCHEDULER, MIN/MAX_TASK_PROCESSORS,
// ENABLE_WEB_SERVER, REDIS_URL) and ACTIONHERO_ROLE are read by mycluster's built-in defaults, so this
// file leaves those keys alone.
exports.default = {
  general: {
    // Redacted wherever a log line carries params.
    filteredParams: ['password'],
  },
  cluster: {
    stopTimeout: 10_000,
    readyTimeout: 15_000,
  },
  servers: {
    web: {
      // A unix socket behind nginx in production (see nginx.conf); a TCP port in development.
      bindIP: '127.0.0.1',
    },
  },
  tasks: {
    queues: ['default'],
  },
};

exports.production = {
  logger: { level: 'info' },
  servers: {
    web: {
      port: (config) => process.env.PORT || `${config.general.paths.pid}/../web.sock`,
    },
  },
  // A whole section may be a function of the config so far, as in ActionHero's seed.
  tasks: (config) => ({ ...config.tasks, stuckWorkerTimeout: 30_000 }),
};

exports.test = {
  logger: { level: 'warn' },
};
