// GET /api/time — no Redis needed: a quick check that a worker answers.
module.exports = {
  name: 'time',
  run: () => ({ now: new Date().toISOString(), pid: process.pid }),
};
