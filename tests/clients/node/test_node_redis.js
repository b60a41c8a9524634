// tests/clients/node/test_node_redis.js -- node-redis against a running server.
//
// Usage: node test_node_redis.js redis-v4|redis-v5|redis-v6
// (npm aliases of the pinned `redis` releases in package.json).
// Environment: PHENIX_HOST, PHENIX_PORT.
//
// What each major sends at connect (seen with MONITOR on redis-server 7):
//   v4              CLIENT SETNAME (no HELLO; RESP2 only)
//   v5 default      CLIENT SETNAME (RESP2, no HELLO)
//   v5 RESP: 2|3    HELLO 2|3 SETNAME name
//   v6 default      HELLO 3 SETNAME name  (RESP3 is the default: it needs HELLO)
//   v6 RESP: 2      CLIENT SETNAME
// The same suite runs once per protocol mode the version supports: strings,
// keys, expiry, auto-pipelining, execAsPipeline (no MULTI), errors,
// scanIterator, database selection, and the negotiated protocol itself.
'use strict';

const path = require('node:path');
const { assert, test, rejects, requireClient, run, withTimeout, HOST, PORT } = require('./lib');

const pkg = process.argv[2];
const MODES = { 'redis-v4': [undefined], 'redis-v5': [undefined, 2, 3], 'redis-v6': [undefined, 2] };
if (!MODES[pkg]) {
  console.log(`usage: node test_node_redis.js ${Object.keys(MODES).join('|')}`);
  process.exit(2);
}
const { createClient } = requireClient(pkg);
const version = require(path.join(pkg, 'package.json')).version;
const major = Number(version.split('.')[0]);
console.log(`# node-redis ${version} (${pkg}) on Node.js ${process.version}`);

// expectedProto: the protocol a client in this mode ends up speaking.
function expectedProto(resp) {
  if (resp) return resp;
  return major >= 6 ? 3 : 2;
}

function newClient(resp, extra = {}) {
  const options = {
    socket: { host: HOST, port: PORT, reconnectStrategy: false, connectTimeout: 5000 },
    ...extra,
  };
  if (resp) options.RESP = resp;
  const c = createClient(options);
  c.on('error', () => {});
  return c;
}

async function closeClient(c) {
  if (typeof c.destroy === 'function') c.destroy();
  else await c.disconnect();
}

// helloField: read a field of a HELLO reply, a flat array in RESP2 or a map
// (object or Map, depending on the version's type mapping) in RESP3.
function helloField(reply, field) {
  if (Array.isArray(reply)) {
    const i = reply.indexOf(field);
    return i >= 0 ? reply[i + 1] : undefined;
  }
  if (reply instanceof Map) return reply.get(field);
  return reply[field];
}

function defineSuite(resp) {
  const label = `[RESP ${resp ?? 'default'}]`;
  const P = `nr${major}:${resp ?? 'd'}:`;
  let c;

  test(`${label} connect`, async () => {
    c = newClient(resp, { name: `node-redis-${major}-${resp ?? 'd'}` });
    await c.connect();
    assert.equal(await c.ping(), 'PONG');
  });

  test(`${label} negotiated protocol and name`, async () => {
    const proto = expectedProto(resp);
    assert.equal(Number(helloField(await c.sendCommand(['HELLO']), 'proto')), proto);
    const info = String(await c.sendCommand(['CLIENT', 'INFO']));
    assert.match(info, new RegExp(` resp=${proto}\\b`));
    assert.match(info, new RegExp(` name=node-redis-${major}-${resp ?? 'd'} `));
    assert.equal(await c.sendCommand(['CLIENT', 'GETNAME']), `node-redis-${major}-${resp ?? 'd'}`);
  });

  test(`${label} strings`, async () => {
    assert.equal(await c.set(P + 's', 'v1'), 'OK');
    assert.equal(await c.get(P + 's'), 'v1');
    assert.equal(await c.get(P + 'missing'), null);
    assert.equal(await c.set(P + 's', 'v2', { NX: true }), null);
    assert.equal(await c.getSet(P + 's', 'v3'), 'v1');
    assert.equal(await c.incr(P + 'n'), 1);
    assert.equal(await c.incrBy(P + 'n', 41), 42);
    assert.equal(await c.decr(P + 'n'), 41);
    assert.equal(Number(await c.incrByFloat(P + 'f', 1.5)), 1.5);
    assert.equal(await c.mSet({ [P + 'a']: '1', [P + 'b']: '2' }), 'OK');
    assert.deepEqual(await c.mGet([P + 'a', P + 'b', P + 'missing']), ['1', '2', null]);
    assert.equal(await c.append(P + 'a', 'xy'), 3);
    assert.equal(await c.strLen(P + 'a'), 3);
    assert.equal(await c.getRange(P + 'a', 1, 2), 'xy');
    assert.equal(await c.set(P + 'u', 'héllo\r\n✓'), 'OK');
    assert.equal(await c.get(P + 'u'), 'héllo\r\n✓');
  });

  test(`${label} keys and expiry`, async () => {
    assert.equal(await c.set(P + 'k', 'v', { EX: 100 }), 'OK');
    const ttl = await c.ttl(P + 'k');
    assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
    assert.equal(Number(await c.persist(P + 'k')), 1);
    assert.equal(await c.ttl(P + 'k'), -1);
    assert.equal(Number(await c.expire(P + 'k', 100)), 1);
    assert.equal(await c.exists([P + 'k', P + 'missing']), 1);
    assert.equal(await c.type(P + 'k'), 'string');
    assert.equal(await c.rename(P + 'k', P + 'k2'), 'OK');
    assert.equal(await c.del([P + 'k2', P + 'missing']), 1);
    assert.equal(await c.ttl(P + 'missing'), -2);
  });

  test(`${label} automatic pipelining of concurrent commands`, async () => {
    const n = 1000;
    await Promise.all(Array.from({ length: n }, (_, i) => c.set(`${P}ap:${i}`, String(i))));
    const vals = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`${P}ap:${i}`)));
    vals.forEach((v, i) => assert.equal(v, String(i)));
  });

  test(`${label} execAsPipeline (no MULTI)`, async () => {
    const res = await c.multi().set(P + 'pp', '1').incr(P + 'pp').get(P + 'pp').execAsPipeline();
    assert.deepEqual(res.map(String), ['OK', '2', '2']);
  });

  test(`${label} error replies`, async () => {
    await rejects(c.sendCommand(['nosuch', 'x']),
      "ERR unknown command 'nosuch', with args beginning with: 'x'");
    await rejects(c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command");
    await c.set(P + 'str', 'abc');
    await rejects(c.incr(P + 'str'), 'ERR value is not an integer or out of range');
    assert.equal(await c.ping(), 'PONG');
  });

  test(`${label} scanIterator visits every key`, async () => {
    const want = new Set();
    await Promise.all(Array.from({ length: 1200 }, (_, i) => {
      want.add(`${P}scan:${i}`);
      return c.set(`${P}scan:${i}`, '1');
    }));
    const seen = new Set();
    // v4 yields keys one by one; v5 and later yield one array per SCAN reply.
    for await (const item of c.scanIterator({ MATCH: `${P}scan:*`, COUNT: 100 })) {
      for (const k of Array.isArray(item) ? item : [item]) seen.add(k);
    }
    assert.equal(seen.size, want.size);
    for (const k of want) assert.ok(seen.has(k), k);
  });

  test(`${label} database option and CONFIG GET`, async () => {
    const c3 = newClient(resp, { database: 3 });
    await c3.connect();
    await c3.set(P + 'db3', 'x');
    assert.equal(await c.exists(P + 'db3'), 0);
    assert.equal(await c3.get(P + 'db3'), 'x');
    await c3.flushDb();
    await closeClient(c3);
    const cfg = await c.configGet('port');
    assert.equal(cfg.port, String(PORT));
  });

  test(`${label} pub/sub messages (pushes in RESP3)`, async () => {
    const sub = c.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    const got = [];
    let resolveDone;
    const done = new Promise((resolve) => { resolveDone = resolve; });
    const note = (kind) => (msg, ch) => { got.push([kind, ch, msg]); if (got.length === 2) resolveDone(); };
    await sub.subscribe(P + 'chan', note('message'));
    await sub.pSubscribe(P + 'pat*', note('pmessage'));
    assert.equal(Number(await c.publish(P + 'chan', 'hello')), 1);
    assert.equal(Number(await c.publish(P + 'pattern', 'world')), 1);
    await withTimeout(done, 5000);
    assert.deepEqual(got, [['message', P + 'chan', 'hello'], ['pmessage', P + 'pattern', 'world']]);
    await sub.unsubscribe(P + 'chan');
    await sub.pUnsubscribe(P + 'pat*');
    await closeClient(sub);
  });

  test(`${label} MULTI / EXEC and EVAL`, async () => {
    const res = await c.multi().set(P + 'tx', '1').incr(P + 'tx').exec();
    assert.deepEqual(res.map(String), ['OK', '2']);
    const v = await c.eval("return {KEYS[1], ARGV[1], redis.call('incr', KEYS[1])}",
      { keys: [P + 'tx'], arguments: ['a'] });
    assert.deepEqual(v.map(String), [P + 'tx', 'a', '3']);
  });

  test(`${label} close`, async () => {
    await closeClient(c);
  });
}

for (const resp of MODES[pkg]) defineSuite(resp);

(async () => {
  const admin = newClient(undefined);
  await withTimeout(admin.connect(), 10000);
  await withTimeout(admin.flushAll(), 10000);
  const code = await run();
  await withTimeout(admin.flushAll(), 10000);
  await closeClient(admin);
  process.exit(code);
})().catch((e) => {
  console.log(`[err] fatal: ${e.stack}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
