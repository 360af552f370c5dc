// Every `@ts-expect-error` line must be a compile error: tasks run with the wrong param types.
import { defineTask } from 'mycluster';

export const greet = defineTask<{ name: string; times: number }>({
  name: 'greet',
  queue: 'default',
  run(params) {
    // @ts-expect-error times is a number
    const times: string = params.times;
    // @ts-expect-error there is no `nmae` param
    return `${params.nmae} ${times}`;
  },
});

export const wrongRunParams = defineTask<{ count: number }>({
  name: 'count',
  queue: 'default',
  // @ts-expect-error run declares a param type that does not match the task's params
  run(params: { count: string }) {
    return params.count;
  },
});

// @ts-expect-error a task needs a queue
export const queueless = defineTask({ name: 'x', run: () => undefined });

export const badFrequency = defineTask({
  name: 'y',
  queue: 'default',
  // @ts-expect-error frequency is a number of ms
  frequency: '1m',
  run: () => undefined,
});
