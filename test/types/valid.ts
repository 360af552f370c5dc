// Must compile: how an app uses the public API (`import ... from 'mycluster'`).
import http from 'node:http';
import {
  type ActionContext,
  type AppContext,
  type Config,
  type ConfigSection,
  defineAction,
  defineConfig,
  defineInitializer,
  defineTask,
  drainServer,
  drainSignal,
  type Role,
  trackConnections,
} from 'mycluster';

export const hello = defineAction({
  name: 'hello',
  description: 'says hello',
  inputs: { name: { required: true }, greeting: { default: 'hello' }, shout: {} },
  async run({ params, tasks, log, config, connection }) {
    const name: string = params.name;
    const greeting: string = params.greeting;
    const shout: string | undefined = params.shout;
    await tasks.enqueue('greet', { name }, 'default');
    await tasks.enqueueIn(1000, 'greet', { name });
    const draining: boolean = connection.drainSignal.aborted;
    log.info({ url: connection.url, port: config.servers.web.port, draining }, 'hello');
    return { message: `${greeting} ${shout ? name.toUpperCase() : name}` };
  },
});

// No inputs: any param may be read, and may be absent.
export const echo = defineAction({
  name: 'echo',
  run({ params }) {
    const value: string | undefined = params.anything;
    return { value };
  },
});

export const greet = defineTask<{ name: string; times?: number }>({
  name: 'greet',
  queue: 'default',
  frequency: 0,
  async run(params, { log, redis, workerSlot }) {
    const times: number = params.times ?? 1;
    log.info({ slot: workerSlot }, `hello ${params.name.repeat(times)}`);
    await redis.set('last-greeting', params.name);
  },
});

export const heartbeat = defineTask({
  name: 'heartbeat',
  queue: 'default',
  frequency: 60_000,
  run(_params, { tasks }) {
    return tasks.enqueueAt(Date.now() + 1000, 'greet', { name: 'again' });
  },
});

let server: http.Server | undefined;
export const ownServer = defineInitializer({
  name: 'own-server',
  async start({ config, role, projectRoot }: AppContext) {
    const current: Role = role;
    server = http.createServer((req, res) => {
      drainSignal(req).addEventListener('abort', () => res.end());
      res.write(`${current} ${projectRoot} ${config.cluster.stopTimeout}`);
    });
    trackConnections(server);
    await new Promise<void>((resolve) => server?.listen(0, resolve));
  },
  async stop() {
    if (server) await drainServer(server, { idleGrace: 300, ramp: 250, closeCode: 1001 });
  },
});

export const config = defineConfig({
  general: { filteredParams: ['password'], paths: { pid: 'pids', actions: ['lib/actions'], initializers: 'lib/initializers' } },
  cluster: { workers: 2, stopTimeout: 10_000, restartBackoff: { min: 100 } },
  servers: { web: { port: (c: Config) => (c.general.id ? 8080 : '/tmp/web.sock'), handler: 'app.js', bindIP: null } },
  tasks: (c) => ({ ...c.tasks, queues: ['default'], maxTaskProcessors: 5 }),
  redis: { url: process.env.REDIS_URL },
  logger: { level: 'warn' },
  // The app's own sections are free-form.
  payments: { gateway: 'https://example.com' },
});

export const production: ConfigSection = { logger: { level: 'info' } };

export function handlerOf(context: ActionContext<{ id: string }>): string {
  return context.params.id;
}
