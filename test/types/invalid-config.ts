// Every `@ts-expect-error` line must be a compile error: wrong keys and types in config sections.
import { defineConfig, defineInitializer } from 'mycluster';

export const unknownWebKey = defineConfig({
  // @ts-expect-error `prot` is not a key of servers.web
  servers: { web: { prot: 8080 } },
});

export const unknownTasksKey = defineConfig({
  // @ts-expect-error `maxProcessors` is not a key of tasks
  tasks: { maxProcessors: 4 },
});

export const unknownClusterKey = defineConfig({
  // @ts-expect-error `worker` is not a key of cluster (it is `workers`)
  cluster: { worker: 2 },
});

export const wrongType = defineConfig({
  // @ts-expect-error minTaskProcessors is a number
  tasks: { minTaskProcessors: '2' },
});

export const wrongNestedType = defineConfig({
  // @ts-expect-error restartBackoff.min is a number of ms
  cluster: { restartBackoff: { min: 'fast' } },
});

export const wrongLevel = defineConfig({
  // @ts-expect-error not a log level
  logger: { level: 'verbose' },
});

export const wrongFunction = defineConfig({
  // @ts-expect-error a function value must return the key's type
  servers: { web: { keepAliveTimeout: () => 'long' } },
});

export const wrongSectionFunction = defineConfig({
  // @ts-expect-error a section returned by a function is checked too
  tasks: () => ({ scheduler: 'yes' }),
});

export const badInitializer = defineInitializer({
  name: 'x',
  start(context) {
    // @ts-expect-error the context has no `server`
    return context.server;
  },
});

export const wrongPath = defineConfig({
  // @ts-expect-error `actons` is not a key of general.paths
  general: { paths: { actons: 'lib/actions' } },
});

export const wrongPathType = defineConfig({
  // @ts-expect-error a path list holds strings
  general: { paths: { tasks: [1] } },
});
