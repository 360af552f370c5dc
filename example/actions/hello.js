// GET /api/hello?name=Ada — answers and enqueues a `greet` task for the task workers.
module.exports = {
  name: 'hello',
  description: 'says hello and enqueues a greeting task',
  inputs: { name: { required: true } },
  async run({ params, tasks }) {
    await tasks.enqueue('greet', { name: params.name });
    return { message: `hello ${params.name}` };
  },
};
