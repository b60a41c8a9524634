// tests/clients/node/test_ioredis.js -- ioredis against a running server.
//
// Environment: PHENIX_HOST, PHENIX_PORT. ioredis speaks RESP2 only; at connect
// it sends SELECT (with db), CLIENT SETNAME (with connectionName) and INFO
// (its ready check parses the persistence section's loading fields).
// Covers strings, keys, expiry, buffers, non-transactional pipelines, error
// replies, auto-pipelining, scanStream, MULTI/EXEC and WATCH, defineCommand Lua
// commands (EVALSHA with the EVAL fallback) and pub/sub.
'use strict';

const { assert, test, rejects, requireClient, run, withTimeout, HOST, PORT } = require('./lib');
const Redis = requireClient('ioredis');
console.log(`# ioredis ${require('ioredis/package.json').version} on Node.js ${process.version}`);

const P = 'ior:';
const opts = {
  host: HOST, port: PORT, maxRetriesPerRequest: 1, retryStrategy: () => null,
  connectTimeout: 5000, commandTimeout: 10000,
};
const r = new Redis({ ...opts, connectionName: 'ioredis-compat' });

test('connect and ready check (INFO)', async () => {
  assert.equal(await r.ping(), 'PONG');
  assert.equal(r.status, 'ready');
  assert.equal(await r.client('GETNAME'), 'ioredis-compat');
});

test('strings', async () => {
  assert.equal(await r.set(P + 's', 'v1'), 'OK');
  assert.equal(await r.get(P + 's'), 'v1');
  assert.equal(await r.get(P + 'missing'), null);
  assert.equal(await r.set(P + 's', 'v2', 'NX'), null);
  assert.equal(await r.set(P + 's', 'v2', 'XX', 'GET'), 'v1');
  assert.equal(await r.incr(P + 'n'), 1);
  assert.equal(await r.incrby(P + 'n', 9), 10);
  assert.equal(await r.incrbyfloat(P + 'f', '2.5'), '2.5');
  assert.equal(await r.mset(P + 'a', '1', P + 'b', '2'), 'OK');
  assert.deepEqual(await r.mget(P + 'a', P + 'b', P + 'missing'), ['1', '2', null]);
  assert.equal(await r.append(P + 'a', 'xyz'), 4);
  assert.equal(await r.getrange(P + 'a', 1, -1), 'xyz');
  assert.equal(await r.getdel(P + 'a'), '1xyz');
  assert.equal(await r.exists(P + 'a'), 0);
});

test('binary values as Buffers', async () => {
  const blob = Buffer.from([0, 1, 2, 13, 10, 255, 254, 0]);
  await r.set(P + 'bin', blob);
  assert.ok((await r.getBuffer(P + 'bin')).equals(blob));
  const big = Buffer.alloc(1 << 20, 'x');
  await r.set(P + 'big', big);
  assert.equal(await r.strlen(P + 'big'), 1 << 20);
  assert.equal(await r.set(P + 'uni', 'héllo ✓'), 'OK');
  assert.equal(await r.get(P + 'uni'), 'héllo ✓');
});

test('keys and expiry', async () => {
  await r.set(P + 'k', 'v', 'EX', 100);
  const ttl = await r.ttl(P + 'k');
  assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
  assert.ok((await r.pttl(P + 'k')) > 99000);
  assert.equal(await r.persist(P + 'k'), 1);
  assert.equal(await r.ttl(P + 'k'), -1);
  assert.equal(await r.expire(P + 'k', 50, 'NX'), 1);
  assert.equal(await r.expire(P + 'k', 100, 'NX'), 0);
  assert.equal(await r.type(P + 'k'), 'string');
  assert.equal(await r.rename(P + 'k', P + 'k2'), 'OK');
  assert.equal(await r.copy(P + 'k2', P + 'k3'), 1);
  assert.equal(await r.del(P + 'k2', P + 'k3', P + 'missing'), 2);
  await r.set(P + 'short', 'v', 'PX', 50);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(await r.get(P + 'short'), null);
});

test('pipeline (not a transaction)', async () => {
  const p = r.pipeline();
  for (let i = 0; i < 500; i++) p.set(`${P}p:${i}`, String(i));
  for (let i = 0; i < 500; i++) p.get(`${P}p:${i}`);
  const res = await p.exec();
  assert.equal(res.length, 1000);
  res.slice(0, 500).forEach(([err, v]) => assert.ok(err === null && v === 'OK'));
  res.slice(500).forEach(([err, v], i) => assert.ok(err === null && v === String(i)));
});

test('pipeline with an error in the middle', async () => {
  const res = await r.pipeline().set(P + 'pe', 'abc').incr(P + 'pe').get(P + 'pe').exec();
  assert.equal(res[0][1], 'OK');
  assert.ok(res[1][0] instanceof Error);
  assert.ok(res[1][0].message.startsWith('ERR value is not an integer or out of range'));
  assert.equal(res[2][1], 'abc');
});

test('auto-pipelining of concurrent commands', async () => {
  const ap = new Redis({ ...opts, enableAutoPipelining: true });
  const n = 2000;
  await Promise.all(Array.from({ length: n }, (_, i) => ap.set(`${P}ap:${i}`, i)));
  const vals = await Promise.all(Array.from({ length: n }, (_, i) => ap.get(`${P}ap:${i}`)));
  vals.forEach((v, i) => assert.equal(v, String(i)));
  ap.disconnect();
});

test('error replies', async () => {
  await rejects(r.call('nosuch', 'x'), "ERR unknown command 'nosuch', with args beginning with: 'x'");
  await rejects(r.call('get'), "ERR wrong number of arguments for 'get' command");
  await r.set(P + 'str', 'abc');
  await rejects(r.incr(P + 'str'), 'ERR value is not an integer or out of range');
  await rejects(r.set(P + 'x', 'v', 'NX', 'XX'), 'ERR syntax error');
  assert.equal(await r.ping(), 'PONG');
});

test('scanStream visits every key', async () => {
  const want = new Set();
  const p = r.pipeline();
  for (let i = 0; i < 1500; i++) {
    want.add(`${P}scan:${i}`);
    p.set(`${P}scan:${i}`, '1');
  }
  await p.exec();
  const seen = new Set();
  for await (const keys of r.scanStream({ match: `${P}scan:*`, count: 100 })) {
    keys.forEach((k) => seen.add(k));
  }
  assert.equal(seen.size, want.size);
  for (const k of want) assert.ok(seen.has(k), k);
});

test('db option selects a database', async () => {
  const r3 = new Redis({ ...opts, db: 3 });
  await r3.set(P + 'db3', 'x');
  assert.equal(await r.exists(P + 'db3'), 0);
  assert.equal(await r3.get(P + 'db3'), 'x');
  assert.equal(await r3.flushdb(), 'OK');
  r3.disconnect();
});

test('client list shows the connection name', async () => {
  const list = await r.client('LIST');
  assert.match(list, /name=ioredis-compat /);
  const id = await r.client('ID');
  assert.ok(Number.isInteger(id) && id > 0);
});

test('defineCommand: a Lua command through EVALSHA (EVAL on NOSCRIPT)', async () => {
  r.defineCommand('incrTwice', {
    numberOfKeys: 1,
    lua: "redis.call('incrby', KEYS[1], ARGV[1]); return redis.call('incrby', KEYS[1], ARGV[1])",
  });
  await r.script('FLUSH');
  assert.equal(await r.incrTwice(P + 'lua', 5), 10);
  assert.equal(await r.incrTwice(P + 'lua', 1), 12);
  const res = await r.pipeline().incrTwice(P + 'lua', 1).get(P + 'lua').exec();
  assert.deepEqual(res, [[null, 14], [null, '14']]);
  await rejects(r.eval("return redis.call('nosuch')", 0), 'ERR Unknown Redis command called from script');
});

test('MULTI / EXEC and WATCH', async () => {
  const res = await r.multi().set(P + 'tx', '1').incr(P + 'tx').exec();
  assert.deepEqual(res, [[null, 'OK'], [null, 2]]);
  await r.watch(P + 'tx');
  const other = new Redis(opts);
  await other.set(P + 'tx', '100');
  assert.equal(await r.multi().incr(P + 'tx').exec(), null);
  other.disconnect();
});

test('pub/sub: subscribe, psubscribe, messages', async () => {
  const sub = new Redis(opts);
  const got = [];
  const done = new Promise((resolve) => {
    sub.on('message', (ch, msg) => { got.push(['message', ch, msg]); if (got.length === 2) resolve(); });
    sub.on('pmessage', (pat, ch, msg) => { got.push(['pmessage', ch, msg]); if (got.length === 2) resolve(); });
  });
  assert.equal(await sub.subscribe(P + 'chan'), 1);
  assert.equal(await sub.psubscribe(P + 'pat*'), 2);
  assert.equal(await r.publish(P + 'chan', 'hello'), 1);
  assert.equal(await r.publish(P + 'pattern', 'world'), 1);
  await withTimeout(done, 5000);
  assert.deepEqual(got, [['message', P + 'chan', 'hello'], ['pmessage', P + 'pattern', 'world']]);
  sub.disconnect();
});

(async () => {
  await withTimeout(r.flushall(), 10000);
  const code = await run();
  await withTimeout(r.flushall(), 10000);
  r.disconnect();
  process.exit(code);
})().catch((e) => {
  console.log(`[err] fatal: ${e.stack}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
