// The benchmark app for PM2, the node:cluster baseline and the single process: a node:http server that
// answers every request after 5 ms (bench/apps/handler.js), with keep-alive, written the way a typical user
// writes one.
const http = require('node:http');

const port = Number(process.env.PORT) || 8080;
const server = http.createServer(require('./handler'));
server.keepAliveTimeout = 5000;

server.listen(port, '127.0.0.1', () => {
  // One JSON line the bench reads (from the baseline's stdout or PM2's log files): when this worker listens.
  console.log(JSON.stringify({ msg: 'listening', pid: process.pid, time: Date.now() }));
  if (process.send) process.send('ready'); // PM2 --wait-ready
});

// Graceful shutdown, the usual way: stop accepting, then exit once the server has closed.
process.on('SIGINT', () => {
  server.close(() => process.exit(0));
});
