import type { Redis } from 'ioredis';

/**
 * node-resque's popAndStoreJob (LPOP a job, record the processor's claim on it), made safe to run twice.
 * When a connection drops after Redis ran the script but before its answer arrived, ioredis sends the
 * command again on the next connection: the original pops a second job and overwrites the claim on the
 * first, which is then in no queue and no claim — lost. Here a run that finds the processor's claim from
 * the same call (same queue, same `run_at`) answers that job again instead. A processor deletes its claim
 * when it finishes a job, so a claim still there can only be this call's.
 */
const POP_AND_STORE_JOB_ONCE = `
local claimed = redis.call('get', KEYS[2])
if claimed then
  local claim = cjson.decode(claimed)
  if claim['queue'] == ARGV[2] and claim['run_at'] == ARGV[1] then
    return cjson.encode(claim['payload'])
  end
end
local payload = redis.call('lpop', KEYS[1])
if payload then
  local workerPayload = {}
  workerPayload['run_at'] = ARGV[1]
  workerPayload['queue'] = ARGV[2]
  workerPayload['payload'] = cjson.decode(payload)
  workerPayload['worker'] = ARGV[3]
  redis.call('set', KEYS[2], cjson.encode(workerPayload))
end
return payload
`;

/** Every node-resque Connection on `redis` defines its scripts on it: swap in the resend-safe pop. */
export function popJobsOnce(redis: Redis): void {
  const define = redis.defineCommand.bind(redis);
  redis.defineCommand = (name, definition) => define(name, name === 'popAndStoreJob' ? { ...definition, lua: POP_AND_STORE_JOB_ONCE } : definition);
}
