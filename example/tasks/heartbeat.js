// A periodic task: once a minute across the whole cluster, whatever the number of workers or hosts.
module.exports = {
  name: 'heartbeat',
  queue: 'default',
  frequency: 60_000,
  async run(_params, { redis }) {
    await redis.set('example:last-heartbeat', new Date().toISOString());
  },
};
