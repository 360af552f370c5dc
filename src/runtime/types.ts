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
  /** Aborted when a drain (a reload, a stop) reaches this request's connection: a long poll answers now. */
  readonly drainSignal: AbortSignal;
  /** The HTTP status of a successful response (default 200), e.g. 201, or 503 from a health check. */
  setStatus(code: number): void;
}

/** An action's declared inputs, by param name. */
export type ActionInputs = Record<string, ActionInput>;

/**
 * The params an action's run() sees, typed from its inputs: one key per input, a string when the input is
 * required or has a default, else string | undefined. Without declared inputs, any param, possibly absent.
 */
export type ActionParams<I extends ActionInputs = ActionInputs> = string extends keyof I
  ? Record<string, string | undefined>
  : { [K in keyof I]: I[K] extends { required: true } | { default: string } ? string : string | undefined };

export interface ActionContext<P extends object = ActionParams> extends AppContext {
  /** Params as they came in (query, JSON or form body): strings, or what the JSON body held. */
  params: P;
  connection: ActionConnection;
}

export interface ActionDefinition<I extends ActionInputs = ActionInputs> {
  name: string;
  description?: string;
  inputs?: I;
  run(context: ActionContext<ActionParams<I>>): unknown | Promise<unknown>;
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
