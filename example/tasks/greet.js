module.exports = {
  name: 'greet',
  queue: 'default',
  async run(params, { log }) {
    log.info({ name: params.name }, `greeted ${params.name}`);
    return `hello ${params.name}`;
  },
};
