// `node bench/upgrade-nginx.mjs` (after `npm run build`): wrk -t1 -c50 through a real nginx (the generated
// nginx.conf, its unix socket upstream) to a 2-worker cluster of a generated project with a 5 ms action:
// 5 s steady, then 10 s during which the master is upgraded 3 times (`mycluster upgrade`). Prints wrk's
// reports; a run with no "Socket errors" and no "Non-2xx" line lost nothing. Not part of npm test.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { runMycluster, startMycluster } = await import(`${repo}/test/helpers/cluster.mjs`);
const { freePort } = await import(`${repo}/test/helpers/net.mjs`);
const { nginxConfig, startNginx } = await import(`${repo}/test/helpers/nginx.mjs`);
const require = createRequire(import.meta.url);
const { generate } = require(`${repo}/dist/commands/generate.js`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wrk-nginx-'));
const project = path.join(tmp, 'app');
await generate({ directory: project });
fs.writeFileSync(
  path.join(project, 'actions', 'slow.js'),
  "module.exports = { name: 'slow', run: async () => { await new Promise((r) => setTimeout(r, 5)); return { pid: process.pid }; } };\n",
);
const generated = fs.readFileSync(path.join(project, 'nginx.conf'), 'utf8');
const port = await freePort();
// The generated config's first listen line becomes a local port; the others go.
const listens = generated.split('\n').filter((line) => /^\s*listen\s/.test(line));
const site = generated
  .split('\n')
  .map((line) => (line === listens[0] ? `  listen 127.0.0.1:${port};` : listens.includes(line) ? '' : line))
  .join('\n');
const configFile = path.join(tmp, 'nginx.conf');
fs.writeFileSync(configFile, nginxConfig({ tmp, http: site }));
const nginx = await startNginx({ tmp, configFile, port });
const cluster = startMycluster(['start', '--workers=2'], {
  cwd: project,
  env: {
    NODE_ENV: 'production',
    PORT: '',
    ACTIONHERO_ROLE: '',
    MIN_TASK_PROCESSORS: '0',
    MAX_TASK_PROCESSORS: '0',
    SCHEDULER: 'false',
    MYCLUSTER_LOG_FORMAT: 'json',
  },
});
try {
  await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
  const wrk = (seconds) =>
    new Promise((resolve) =>
      execFile('wrk', ['-t1', '-c50', `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/api/slow`], (_error, stdout) => resolve(stdout)),
    );
  console.log(`--- steady\n${await wrk(5)}`);
  const running = wrk(10);
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 0; i < 3; i += 1) {
    const result = await runMycluster(['upgrade', '--pids', path.join(project, 'pids')], { cwd: project, timeoutMs: 60_000 });
    console.log(`upgrade ${i + 1}: exit ${result.code} ${result.stdout.trim()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`--- with 3 upgrades\n${await running}`);
} finally {
  process.kill(cluster.pid, 'SIGTERM');
  await cluster.waitForExit(30_000).catch(() => cluster.kill());
  await nginx.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
