// `mycluster logs` reading the file: the last N lines of a large file, a line still being written, and
// following by name across a rename (logrotate) and a truncation.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LogFollower, readLastLines } from '../../dist/commands/logs.js';

function tempFile(t, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-tail-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'mycluster.log');
  fs.writeFileSync(file, text);
  return file;
}

function lastLines(file, count) {
  const fd = fs.openSync(file, 'r');
  try {
    return readLastLines(fd, count);
  } finally {
    fs.closeSync(fd);
  }
}

test('the last N lines of a file larger than the chunks it is read by, and where they end', (t) => {
  const lines = Array.from({ length: 5_000 }, (_, index) => `{"n":${index},"pad":"${'x'.repeat(40)}"}`);
  const text = `${lines.join('\n')}\n`;
  const file = tempFile(t, text);
  const result = lastLines(file, 1_500);
  assert.deepEqual(result.lines, lines.slice(-1_500));
  assert.equal(result.partial, '');
  assert.equal(result.end, Buffer.byteLength(text));
  assert.deepEqual(lastLines(file, 0).lines, []);
  assert.deepEqual(lastLines(file, 10_000).lines, lines);
});

test('a last line without its newline is partial, and the end is before it', (t) => {
  const file = tempFile(t, 'one\ntwo\nthr');
  assert.deepEqual(lastLines(file, 5), { lines: ['one', 'two'], partial: 'thr', end: 8 });
  assert.deepEqual(lastLines(tempFile(t, ''), 5), { lines: [], partial: '', end: 0 });
});

test('following: new lines, a line completed later, the rest of a renamed file then the new one, a truncated file from its start', (t) => {
  const file = tempFile(t, 'old\n');
  const seen = [];
  const fd = fs.openSync(file, 'r');
  const follower = new LogFollower(file, fd, 4, (line) => seen.push(line));
  t.after(() => follower.close());

  fs.appendFileSync(file, 'a\nb');
  follower.poll();
  assert.deepEqual(seen, ['a']);
  fs.appendFileSync(file, 'c\n');
  follower.poll();
  assert.deepEqual(seen, ['a', 'bc']);

  fs.renameSync(file, `${file}.1`);
  fs.appendFileSync(`${file}.1`, 'last of the old\n');
  follower.poll(1_000); // the name points nowhere yet: the old file is still read
  fs.writeFileSync(file, 'first of the new\n');
  follower.poll(2_000);
  assert.deepEqual(seen.slice(2), ['last of the old', 'first of the new']);
  fs.appendFileSync(`${file}.1`, 'late in the old\n'); // a worker that has not reopened yet
  follower.poll(3_000);
  assert.deepEqual(seen.slice(4), ['late in the old']);
  fs.appendFileSync(`${file}.1`, 'too late\n');
  follower.poll(2_000 + 5_000);
  follower.poll(2_000 + 6_000);
  assert.deepEqual(seen.slice(5), ['too late'], 'read once more as the old file is closed, then no more');

  fs.truncateSync(file, 0);
  fs.appendFileSync(file, 'short\n');
  follower.poll(9_000);
  assert.deepEqual(seen.slice(6), ['short']);
});
