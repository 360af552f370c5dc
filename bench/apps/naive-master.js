// The baseline: a plain node:cluster master with N workers running bench/apps/server.js, written the way a
// typical user writes one. A crashed worker is forked again at once; SIGUSR2 is a naive rolling restart:
// for each old worker, fork a new one and, when it listens, disconnect the old one (which closes its server
// and exits once its connections are gone), then go on with the next. Logs JSON lines on stdout.
const cluster = require('node:cluster');
const path = require('node:path');

const workers = Number(process.env.WORKERS) || 2;
const log = (msg, extra = {}) => console.log(JSON.stringify({ msg, pid: process.pid, time: Date.now(), ...extra }));

cluster.setupPrimary({ exec: path.join(__dirname, 'server.js') });
for (let index = 0; index < workers; index += 1) cluster.fork();

cluster.on('listening', (worker) => log(`worker ${worker.process.pid} listening`, { workerPid: worker.process.pid }));
cluster.on('exit', (worker, code, signal) => {
  log(`worker ${worker.process.pid} exited`, { workerPid: worker.process.pid, code, signal });
  if (!worker.exitedAfterDisconnect) cluster.fork();
});

let reloading = false;
process.on('SIGUSR2', async () => {
  if (reloading) return;
  reloading = true;
  const started = Date.now();
  for (const old of Object.values(cluster.workers)) {
    const fresh = cluster.fork();
    await new Promise((resolve) => fresh.once('listening', resolve));
    const exited = new Promise((resolve) => old.once('exit', resolve));
    old.disconnect();
    // Not quite naive: a worker whose keep-alive connections never close would hang the reload forever.
    const timer = setTimeout(() => old.process.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  log(`reload done in ${Date.now() - started} ms`, { durationMs: Date.now() - started });
  reloading = false;
});

process.on('SIGTERM', () => {
  for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
  process.exit(0);
});
