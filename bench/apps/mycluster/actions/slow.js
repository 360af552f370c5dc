// The benchmark action: answers after 5 ms, the same work as bench/apps/server.js.
module.exports = {
  name: 'slow',
  async run() {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { pid: process.pid };
  },
};
