export { roleFromEnv } from './defaults';
export { type LoadConfigOptions, loadConfig } from './load';
export type * from './types';
