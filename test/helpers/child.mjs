// Spawn the task processing child (test/fixtures/tasks/processing-child.mjs) and read its JSON log lines.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fixtures } from './tasks.mjs';
import { sleep, within } from './wait.mjs';

/** Start a child; resolves once it logged `child ready`. `lines` holds its parsed log lines. */
export async function startChild({ url, taskFolder = 'basic', tasks = {}, env = {}, timeoutMs = 10_000 }) {
  const child = spawn(process.execPath, [path.join(fixtures, 'processing-child.mjs')], {
    env: { ...process.env, REDIS_URL: url, TASK_FOLDER: taskFolder, TASKS_CONFIG: JSON.stringify(tasks), MYCLUSTER_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (data) => {
    const text = partial + data;
    const complete = text.split('\n');
    partial = complete.pop();
    for (const line of complete.filter(Boolean)) {
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  child.stderr.on('data', (data) => (stderr += data));
  const handle = {
    child,
    lines,
    get stderr() {
      return stderr;
    },
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    /** Waits until the child logged a line matching `match`; throws after timeoutMs. */
    async waitForLine(match, timeout = 10_000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const line = lines.find(match);
        if (line) return line;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child ${child.pid} exited before the line; stderr: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`child ${child.pid} did not log the line within ${timeout} ms; stderr: ${stderr}`);
        await sleep(50);
      }
    },
    /** SIGKILL (or `signal`) by pid, and wait for the exit; a no-op when it already exited. */
    async kill(signal = 'SIGKILL', timeout = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return handle.exited;
      process.kill(child.pid, signal);
      const result = await within(timeout, `the exit of child ${child.pid}`, handle.exited).catch(() => undefined);
      if (result) return result;
      process.kill(child.pid, 'SIGKILL');
      return handle.exited;
    },
  };
  await handle
    .waitForLine((line) => line.msg === 'child ready', timeoutMs)
    .catch(async (error) => {
      await handle.kill();
      throw error;
    });
  return handle;
}
