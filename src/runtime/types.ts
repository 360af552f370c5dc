import type { IncomingHttpHeaders } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, Role } from '../config/types';

/** Enqueue jobs from actions, tasks and initializers. Resolves once Redis acknowledged the job. */
export interface TaskQueue {
  enqueue(taskName: string, params?: Record<string, unknown>, queue?: string): Promise<void>;
  /** Run after `delayMs`. */
  enqueueIn(delayMs: number, taskName: string, params?: Record<string, unknown>, queue?: string): Promise<void>;
  /** Run at `time` (a Date or ms since the epoch). */
  enqueueAt(time: Date | number, taskName: string, params?: Record<string, unknown>, queue?: string): Promise<void>;
}

/** What the app's code gets in every action, task and initializer. */
export interface AppContext {
  config: Config;
  log: Logger;
  tasks: TaskQueue;
  /** The app's own Redis connection (separate from the task connections), connected lazily. */
  redis: Redis;
  role: Role;
  /** The cluster slot of this worker, or null in a single process. */
  workerSlot: number | null;
  projectRoot: string;
}

export interface ActionInput {
  required?: boolean;
  /** Used when the param is absent. */
  default?: string;
  description?: string;
}

export interface ActionConnection {
  method: string;
  url: string;
  remoteIP: string | undefined;
  headers: IncomingHttpHeaders;
}

export interface ActionContext<P extends string = string> extends AppContext {
  /** Params as they came in (query, JSON or form body): strings, or what the JSON body held. */
  params: Record<P, string> & Record<string, unknown>;
  connection: ActionConnection;
}

export interface ActionDefinition<P extends string = string> {
  name: string;
  description?: string;
  inputs?: Record<P, ActionInput>;
  run(context: ActionContext<P>): unknown | Promise<unknown>;
}

export interface TaskDefinition<P extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  queue: string;
  /** ms; > 0 runs the task periodically, once per period across the whole cluster. */
  frequency?: number;
  description?: string;
  run(params: P, context: AppContext): unknown | Promise<unknown>;
}

export interface InitializerDefinition {
  name: string;
  start?(context: AppContext): unknown | Promise<unknown>;
  stop?(context: AppContext): unknown | Promise<unknown>;
}
