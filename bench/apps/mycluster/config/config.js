// The benchmark app's config: web only (no Redis), loopback only. The master logs at info (the bench reads
// its lifecycle lines); workers log at warn, so a request costs no log line, as in the other peers' app.
// It answers with its `slow` action, or, when the bench sets BENCH_HANDLER (an absolute path: the app is
// copied to a temp dir), with that module as the app's own handler: the other peers' bench/apps/handler.js.
const cluster = require('node:cluster');

exports.default = {
  cluster: { stopTimeout: 5000, readyTimeout: 10000 },
  servers: { web: { bindIP: '127.0.0.1', handler: process.env.BENCH_HANDLER } },
  tasks: { scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 0 },
  logger: { level: cluster.isWorker ? 'warn' : 'info' },
};
