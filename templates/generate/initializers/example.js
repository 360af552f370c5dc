// An initializer: your own code, started in name order before mycluster's web server listens and its task
// processors poll (a listening worker gets connections at once, so the app must be whole by then), and
// stopped in reverse after they have drained. A worker counts as ready, and a rolling reload moves on, only once every
// start() has resolved; stop() runs when the worker drains (reload, stop, scale down).
// Open your database pool in start() and close it in stop(); start your own HTTP server here if you have one.
module.exports = {
  name: 'example',
  async start({ log }) {
    // Every log line already carries the worker's pid, role and slot.
    log.info('example initializer started');
  },
  async stop({ log }) {
    log.info('example initializer stopped');
  },
};
