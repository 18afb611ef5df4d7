// `node --test jsinterop/`: the JavaScript text rule against the vectors Go and Python share.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { sanitize } from './text.js';

const vectors = JSON.parse(
  readFileSync(new URL('../internal/textsafe/testdata/vectors.json', import.meta.url), 'utf8'),
);

test('every shared vector is neutralised the same way', () => {
  assert.ok(vectors.length > 10);
  for (const { name, input, sanitized } of vectors) {
    assert.equal(sanitize(input), sanitized, name);
  }
});
