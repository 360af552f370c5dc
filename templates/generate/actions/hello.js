// GET /api/hello?name=Ada -> { "message": "hello Ada" }
// An action: params arrive as strings (query string, JSON or form body). Return a value for a JSON
// response; a throw gives 500 with { error }. A missing required input gives 422.
module.exports = {
  name: 'hello',
  description: 'says hello',
  inputs: {
    name: { required: false, default: 'world', description: 'who to greet' },
  },
  async run({ params, log }) {
    log.debug({ name: params.name }, 'saying hello');
    // To hand slow work to the task workers (needs Redis):
    //   await tasks.enqueue('send-greeting', { name: params.name });
    return { message: `hello ${params.name}` };
  },
};
