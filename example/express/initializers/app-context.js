// Hands mycluster's app context (task queue, Redis, logger, config, worker slot) to the Express routes.
// Initializers start before the web server accepts requests and stop after it has drained.
let context;

module.exports = {
  name: 'app-context',
  start(appContext) {
    context = appContext;
  },
  stop() {},
};

/** The context of this worker; set once the initializer has started. */
module.exports.appContext = () => {
  if (!context) throw new Error('the app context is not ready yet');
  return context;
};
