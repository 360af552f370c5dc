// The Express variant of the example app. `servers.web.handler` names the module exporting the Express
// app; actions/ are then not served (the app gets every request). Tasks are shared with the main example
// (../tasks). The Procfile env (PORT, SCHEDULER, MIN/MAX_TASK_PROCESSORS, ENABLE_WEB_SERVER, REDIS_URL) and
// ACTIONHERO_ROLE are read by mycluster's built-in defaults, so this file leaves those keys alone.
exports.default = {
  general: {
    filteredParams: ['password'],
    paths: { tasks: '../tasks' },
  },
  cluster: {
    stopTimeout: 10_000,
    readyTimeout: 15_000,
  },
  servers: {
    web: {
      handler: 'app.js',
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
};

exports.test = {
  logger: { level: 'warn' },
};
