export { loadConfig, type LoadConfigOptions } from './load';
export { roleFromEnv } from './defaults';
export type * from './types';
