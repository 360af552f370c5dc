// Every `@ts-expect-error` line must be a compile error: actions whose params do not match their inputs.
import { defineAction } from 'mycluster';

export const hello = defineAction({
  name: 'hello',
  inputs: { name: { required: true }, title: {} },
  run({ params }) {
    // @ts-expect-error `nmae` is not one of the inputs
    const misspelt = params.nmae;
    // @ts-expect-error an optional input without a default may be absent
    const title: string = params.title;
    return { misspelt, title, name: params.name };
  },
});

export const badInput = defineAction({
  name: 'bad-input',
  // @ts-expect-error `requird` is not an input option
  inputs: { name: { requird: true } },
  run: () => ({}),
});

// @ts-expect-error an action needs a name
export const nameless = defineAction({ run: () => ({}) });
