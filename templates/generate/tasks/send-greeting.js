// A task: enqueued from an action, another task or an initializer with
//   await tasks.enqueue('send-greeting', { name: 'Ada' });        // also enqueueIn(ms, ...), enqueueAt(date, ...)
// and run by a task worker (ACTIONHERO_ROLE=worker, or MAX_TASK_PROCESSORS > 0). If the worker dies
// mid-job, the job is re-run or moved to the failed queue (config tasks.retryStuckJobs), never lost.
module.exports = {
  name: 'send-greeting',
  queue: 'default',
  // ms; > 0 runs the task periodically, once per period across the whole cluster (needs a scheduler).
  frequency: 0,
  async run(params, { log }) {
    log.info({ name: params.name }, `greeting ${params.name}`);
    return `greeted ${params.name}`;
  },
};
