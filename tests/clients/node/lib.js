// tests/clients/node/lib.js -- the tiny test runner the Node.js client tests share.
//
// test(name, fn) registers an async test; run() executes them in order, prints
// "[ok] name" or "[err] name" with the error, and ends with "N passed, N failed"
// (exit status 1 when anything failed). A test passes when it resolves within
// TEST_TIMEOUT_MS, so a server that stops answering fails fast instead of hanging.
'use strict';

const assert = require('node:assert/strict');

const tests = [];
const TEST_TIMEOUT_MS = 20000;

// withTimeout(promise, ms): the promise, or a rejection after ms milliseconds.
function withTimeout(promise, ms) {
  let timer;
  const expiry = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

function test(name, fn) {
  tests.push({ name, fn });
}

// rejects(promise, prefix): require a rejection whose message starts with prefix.
async function rejects(promise, prefix) {
  let err = null;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error starting with ${JSON.stringify(prefix)}`);
  assert.ok(err.message.startsWith(prefix),
    `error ${JSON.stringify(err.message)} does not start with ${JSON.stringify(prefix)}`);
  return err;
}

// requireClient(name): load a client package from this folder's node_modules,
// or fail the run (a missing library is a failure, never a skip).
function requireClient(name) {
  try {
    return require(name);
  } catch (e) {
    console.log(`FAIL: cannot load npm package '${name}' (${e.code || e.message}); ` +
      'tests/clients/run.sh installs it with npm install in tests/clients/node');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

async function run() {
  let passed = 0;
  let failed = 0;
  for (const { name, fn } of tests) {
    try {
      await withTimeout(Promise.resolve().then(fn), TEST_TIMEOUT_MS);
      passed++;
      console.log(`[ok] ${name}`);
    } catch (e) {
      failed++;
      console.log(`[err] ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 4).join('\n    ') : e}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

const HOST = process.env.PHENIX_HOST || '127.0.0.1';
const PORT = Number(process.env.PHENIX_PORT);
if (!PORT) {
  console.log('PHENIX_PORT is not set');
  process.exit(2);
}

module.exports = { assert, test, rejects, requireClient, run, withTimeout, HOST, PORT };
