// The terminal log format: a pino JSON object in, one human line out (an error's stack on indented lines after it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLogEntry, formatLogLine } from '../../dist/shared/log-format.js';

const time = new Date(2026, 10, 27, 14, 3, 7, 412).getTime(); // local time, as the format shows it
const plain = { colors: false };

test('a worker line: time, level, [w<slot>], message, then the other fields as key=value, on one line', () => {
  const entry = { level: 30, time, pid: 4242, hostname: 'web1', role: 'server', slot: 1, action: 'hello', status: 200, duration: 3, msg: 'action request' };
  assert.equal(formatLogEntry(entry, plain), '14:03:07.412 INFO  [w1] action request action=hello status=200 duration=3');
});

test('a master line shows [master] and keeps the slot and workerPid of the worker it is about', () => {
  const entry = { level: 40, time, pid: 10, hostname: 'web1', role: 'master', slot: 2, workerPid: 4243, reason: 'hung', msg: 'killing worker #2' };
  assert.equal(formatLogEntry(entry, plain), '14:03:07.412 WARN  [master] killing worker #2 slot=2 workerPid=4243 reason=hung');
});

test('a single process is [app], a spare is [spare]', () => {
  assert.equal(formatLogEntry({ level: 30, time, role: 'all', msg: 'ready' }, plain), '14:03:07.412 INFO  [app] ready');
  assert.equal(formatLogEntry({ level: 20, time, role: 'all', spare: true, msg: 'up' }, plain), '14:03:07.412 DEBUG [spare] up');
});

test('strings with spaces, quotes or "=" are quoted; objects and arrays are compact JSON', () => {
  const entry = { level: 30, time, role: 'master', msg: 'm', reason: 'file changed', eq: 'a=b', slots: [1, 2], params: { name: 'x y' }, none: null };
  assert.equal(formatLogEntry(entry, plain), '14:03:07.412 INFO  [master] m reason="file changed" eq="a=b" slots=[1,2] params={"name":"x y"} none=null');
});

test('an error: its type and message inline, its other fields as err.<key>, its stack frames on indented lines below', () => {
  const err = { type: 'TypeError', message: 'boom', code: 'E_BOOM', stack: 'TypeError: boom\n    at run (/app/a.js:1:2)\n    at next (/app/b.js:3:4)' };
  const entry = { level: 50, time, role: 'server', slot: 3, err, action: 'x', msg: 'action failed' };
  assert.equal(
    formatLogEntry(entry, plain),
    ['14:03:07.412 ERROR [w3] action failed err="TypeError: boom" err.code=E_BOOM action=x', '    at run (/app/a.js:1:2)', '    at next (/app/b.js:3:4)'].join(
      '\n',
    ),
  );
});

test('every line but an error stack is a single line, even with a multi-line message or field', () => {
  const entry = { level: 30, time, role: 'worker', slot: 1, msg: 'one\ntwo', text: 'line one\nline two' };
  assert.equal(formatLogEntry(entry, plain), '14:03:07.412 INFO  [w1] one\\ntwo text="line one\\nline two"');
});

test('with date: the day before the time (for `mycluster logs`)', () => {
  assert.match(formatLogEntry({ level: 30, time, role: 'master', msg: 'm' }, { colors: false, date: true }), /^2026-11-27 14:03:07\.412 INFO {2}\[master\] m$/);
});

test('colors: ANSI codes only when asked for', () => {
  const entry = { level: 50, time, role: 'master', msg: 'm', code: 1 };
  const esc = String.fromCharCode(27);
  assert.ok(formatLogEntry(entry, { colors: true }).includes(`${esc}[31mERROR`));
  assert.ok(!formatLogEntry(entry, plain).includes(esc));
});

test('a line that is not a JSON object is returned as it is', () => {
  for (const line of ['mycluster: the cluster did not come up', '{not json', '[1,2]', '']) assert.equal(formatLogLine(line, plain), line);
  assert.equal(formatLogLine(JSON.stringify({ level: 30, time, role: 'master', msg: 'm' }), plain), '14:03:07.412 INFO  [master] m');
});
