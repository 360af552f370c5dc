// The benchmark app's request handler, shared by every peer: answers after 5 ms with a small JSON body.
// bench/apps/server.js serves it for PM2, the node:cluster baseline and the single process; mycluster
// serves it through `servers.web.handler` (bench/apps/mycluster with BENCH_HANDLER set), so all of them run
// the same app code.
module.exports = function handler(_request, response) {
  setTimeout(() => {
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify({ pid: process.pid }));
  }, 5);
};
