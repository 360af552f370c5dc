// A 10-second chaos soak (the full one: npm run soak). Seeded, so a failure can be repeated exactly.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from '../soak/soak.mjs';

test('a 10 s soak of reloads, scaling, kills, hangs, a broken deploy and a Redis restart keeps every invariant', async (t) => {
  const result = await runSoak({ seconds: 10, seed: 3, print: (line) => t.diagnostic(line.trim()) });
  for (const invariant of result.invariants) t.diagnostic(`${invariant.ok ? 'ok' : 'FAIL'} ${invariant.name}: ${invariant.detail}`);
  assert.deepEqual(
    result.invariants.filter((invariant) => !invariant.ok),
    [],
  );
});
