export { roleFromEnv } from './defaults';
export { type LoadConfigOptions, type LoadedConfig, loadConfig, loadConfigWithSources } from './load';
export type * from './types';
