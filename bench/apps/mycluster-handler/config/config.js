// mycluster serving bench/apps/handler.js, the other peers' app code, as the app's own handler
// (`servers.web.handler`): web only, loopback only, workers log at warn as in bench/apps/mycluster.
// The bench copies this folder to a temp dir, so it passes the handler's absolute path in BENCH_HANDLER.
const cluster = require('node:cluster');

exports.default = {
  cluster: { stopTimeout: 5000, readyTimeout: 10000 },
  servers: { web: { bindIP: '127.0.0.1', handler: process.env.BENCH_HANDLER } },
  tasks: { scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 0 },
  logger: { level: cluster.isWorker ? 'warn' : 'info' },
};
