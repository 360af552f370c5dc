// The benchmark app's config: web only (no Redis), loopback only. The master logs at info (the bench reads
// its lifecycle lines); workers log at warn, so a request costs no log line, as in the other peers' app.
const cluster = require('node:cluster');

exports.default = {
  cluster: { stopTimeout: 5000, readyTimeout: 10000 },
  servers: { web: { bindIP: '127.0.0.1' } },
  tasks: { scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 0 },
  logger: { level: cluster.isWorker ? 'warn' : 'info' },
};
