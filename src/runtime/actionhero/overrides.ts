/**
 * What mycluster tells an ActionHero project through ActionHero's own `ACTIONHERO_CONFIG_OVERRIDES`: the role
 * presets and the seed's Procfile variables (which ActionHero's generated config ignores), the port the
 * master listens on, and the pid folder. The user's own `ACTIONHERO_CONFIG_OVERRIDES` wins over all of it.
 */
import { envBoolean, envCount } from '../../config/defaults';
import { parseOverrides } from '../../config/load';
import { isPlainObject, type PlainObject } from '../../config/merge';
import type { Role } from '../../config/types';

export const ACTIONHERO_OVERRIDES_VARIABLE = 'ACTIONHERO_CONFIG_OVERRIDES';

interface RolePreset {
  web: boolean;
  websocket: boolean;
  scheduler: boolean;
  minTaskProcessors: number;
  maxTaskProcessors: number;
}

const rolePresets: Record<Exclude<Role, 'all'>, RolePreset> = {
  server: { web: true, websocket: true, scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 0 },
  worker: { web: false, websocket: false, scheduler: true, minTaskProcessors: 1, maxTaskProcessors: 10 },
};

export interface ActionheroSettings {
  role: Role;
  env: NodeJS.ProcessEnv;
  /** mycluster's `servers.web.port` (PORT, default 8080): the port the master binds. */
  port?: number | string;
  /** mycluster's pid folder: ActionHero writes its own pidfile there too, where the master can clean it up. */
  pidFolder?: string;
}

/**
 * ActionHero config keys (v22+ layout: `web`, `websocket`, `tasks` at the top) from the role and the env.
 * With no role (development) only the variables that are set count; ActionHero's config decides the rest.
 */
export function actionheroOverrides({ role, env, port, pidFolder }: ActionheroSettings): PlainObject {
  const preset: Partial<RolePreset> = role === 'all' ? {} : rolePresets[role];
  const web = envBoolean(env, 'ENABLE_WEB_SERVER') ?? preset.web;
  // ActionHero's websocket server runs on its web server: without one it would fail the boot.
  const websocket = envBoolean(env, 'ENABLE_WEBSOCKET_SERVER') ?? (web === false ? false : preset.websocket);
  const minTaskProcessors = envCount(env, 'MIN_TASK_PROCESSORS') ?? preset.minTaskProcessors;
  const explicitMax = envCount(env, 'MAX_TASK_PROCESSORS');
  const maxTaskProcessors =
    explicitMax ?? (minTaskProcessors === undefined ? preset.maxTaskProcessors : Math.max(preset.maxTaskProcessors ?? 0, minTaskProcessors));
  return prune({
    general: pidFolder === undefined ? undefined : { paths: { pid: [pidFolder] } },
    web: { enabled: web, port },
    websocket: { enabled: websocket },
    tasks: { scheduler: envBoolean(env, 'SCHEDULER') ?? preset.scheduler, minTaskProcessors, maxTaskProcessors },
  });
}

/** Ours, then the user's `ACTIONHERO_CONFIG_OVERRIDES` (JSON) deeply over it: the user's wins. */
export function withUserOverrides(ours: PlainObject, userText: string | undefined): PlainObject {
  return deepMerge(ours, parseOverrides({ variable: ACTIONHERO_OVERRIDES_VARIABLE, value: userText }));
}

function deepMerge(base: PlainObject, over: PlainObject): PlainObject {
  const merged: PlainObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    merged[key] = isPlainObject(value) && isPlainObject(merged[key]) ? deepMerge(merged[key], value) : value;
  }
  return merged;
}

/** Without the undefined values and the objects left empty: a key not set here leaves ActionHero's config alone. */
function prune(object: PlainObject): PlainObject {
  const pruned: PlainObject = {};
  for (const [key, value] of Object.entries(object)) {
    const kept = isPlainObject(value) ? prune(value) : value;
    if (kept === undefined || (isPlainObject(kept) && Object.keys(kept).length === 0)) continue;
    pruned[key] = kept;
  }
  return pruned;
}
