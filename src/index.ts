/**
 * The public API: typed definitions for the app's actions, tasks, initializers and config (identity
 * functions: no runtime cost), their types, and the drain helper mycluster itself uses.
 */
import type { ConfigSection } from './config/types';
import type { ActionDefinition, ActionInputs, InitializerDefinition, TaskDefinition } from './runtime/types';

export type { ClusterConfig, Config, ConfigSection, RedisConfig, Role, TasksConfig, WebServerConfig } from './config/types';
export type {
  ActionContext,
  ActionDefinition,
  ActionInput,
  ActionInputs,
  ActionParams,
  AppContext,
  InitializerDefinition,
  TaskDefinition,
  TaskQueue,
} from './runtime/types';
export type { DrainOptions } from './runtime/web/drain';
export { drainServer, drainSignal, trackConnections } from './runtime/web/drain';

/** An action; `params` in run() are typed from the keys of `inputs`. */
export function defineAction<const I extends ActionInputs = ActionInputs>(action: ActionDefinition<I>): ActionDefinition<I> {
  return action;
}

export function defineTask<P extends Record<string, unknown>>(task: TaskDefinition<P>): TaskDefinition<P> {
  return task;
}

export function defineInitializer(initializer: InitializerDefinition): InitializerDefinition {
  return initializer;
}

/** A config file: `export default defineConfig({ ... })`, or one section per environment. */
export function defineConfig(section: ConfigSection): ConfigSection {
  return section;
}
