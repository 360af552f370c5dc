// An initializer: your own code started after mycluster's parts (web server, task processors), in name
// order, and stopped in reverse. A worker counts as ready, and a rolling reload moves on, only once every
// start() has resolved; stop() runs when the worker drains (reload, stop, scale down).
// Open your database pool in start() and close it in stop(); start your own HTTP server here if you have one.
module.exports = {
  name: 'example',
  async start({ log, role, workerSlot }) {
    log.info({ role, workerSlot }, 'example initializer started');
  },
  async stop({ log }) {
    log.info('example initializer stopped');
  },
};
