// The example app as an existing Express 5 app. mycluster serves it through `servers.web.handler`
// (config/config.js): no app.listen() here — mycluster's web server owns the port or unix socket, reports
// the worker ready once it listens, and drains keep-alive connections on a reload.
const express = require('express');
const { appContext } = require('./initializers/app-context');

const app = express();
app.use(express.json());

// GET /hello?name=Ada — answers and enqueues a `greet` task (../tasks/greet.js) for the task workers.
app.get('/hello', async (req, res) => {
  const name = req.query.name;
  if (typeof name !== 'string' || name === '') {
    res.status(422).json({ error: 'name is a required parameter' });
    return;
  }
  await appContext().tasks.enqueue('greet', { name });
  res.json({ message: `hello ${name}` });
});

// GET /time — no Redis needed: a quick check that a worker answers.
app.get('/time', (_req, res) => {
  res.json({ now: new Date().toISOString(), pid: process.pid, worker: appContext().workerSlot });
});

// Express 5 sends a rejected async route here: log it with mycluster's logger, answer 500.
app.use((error, req, res, next) => {
  appContext().log.error({ err: error, url: req.url }, 'request failed');
  if (res.headersSent) return next(error);
  res.status(500).json({ error: 'internal server error' });
});

module.exports = app;
