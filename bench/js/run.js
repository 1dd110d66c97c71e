#!/usr/bin/env node
'use strict'
// The JS side of hsp's side-by-side benchmark (`go run ./bench` runs it; see bench/main.go).
// Each call runs one case against a fresh JS Hyperspace 3.19 daemon (the `hyperspace` bin,
// spawned with lib/loopback.js preloaded and a local DHT bootstrap, so all traffic stays on
// 127.0.0.1) driven through @hyperspace/client, and prints one JSON line.
//
//   node run.js append  --n 10000 --size 1024 --batch 1 --clients 1
//   node run.js read    --n 100000 --get-n 20000 --size 1024
//   node run.js startup --spawns 5 --cores 1000 --settle-ms 2000
//
// append: each client appends to its own new core, every call awaited; the timer runs from
//   the first call to the last answer. n is the total over all clients.
// read:   fills a core (batches of 100), then gets blocks 0..get-n-1 one at a time, then
//   reads blocks 0..n-1 with createReadStream.
// startup: time from spawn() until a fresh client's status() answers (each spawn on an empty
//   storage dir; every daemon is joined to a local DHT bootstrap node, as Hyperspace joins its
//   DHT at start); on the last spawn, once its DHT node answered a lookup (dhtReady), the RSS
//   after settle-ms idle with that client connected, then the RSS settle-ms after one client
//   created and holds `cores` new cores.
// The JS daemon never fsyncs (random-access-file does not), so its appends are not durable.
const c = require('./lib/common')

const cases = { append: appendCase, read: readCase, startup: startupCase }

async function appendCase () {
  const o = c.args({ n: 6000, size: 1024, batch: 1, clients: 1 })
  const d = await c.startDaemon('append', await c.startBootstrap())
  const workers = []
  for (let i = 0; i < o.clients; i++) {
    const client = i === 0 ? d.client : await c.connect(d)
    const share = Math.floor(o.n / o.clients) + (i < o.n % o.clients ? 1 : 0)
    workers.push({ core: await c.newCore(client), share, next: c.blockSource(share * o.size, o.size) })
  }
  const t0 = c.now()
  await Promise.all(workers.map(w => appendLoop(w, o.batch)))
  const seconds = c.now() - t0
  return { case: 'append', ...o, seconds, blocksPerS: o.n / seconds, daemonRssBytes: c.rssBytes(d.pid), daemonBlocked: d.blocked }
}

async function appendLoop (w, batch) {
  for (let done = 0; done < w.share;) {
    const k = Math.min(batch, w.share - done)
    if (batch === 1) await w.core.append(w.next())
    else await w.core.append(Array.from({ length: k }, w.next))
    done += k
  }
}

async function readCase () {
  const o = c.args({ n: 50000, 'get-n': 20000, size: 1024 })
  const d = await c.startDaemon('read', await c.startBootstrap())
  const core = await c.newCore(d.client)
  const next = c.blockSource(o.n * o.size, o.size)
  for (let i = 0; i < o.n; i += 100) await core.append(Array.from({ length: Math.min(100, o.n - i) }, next))
  const getN = Math.min(o['get-n'], o.n)
  let t0 = c.now()
  let bytes = 0
  for (let i = 0; i < getN; i++) bytes += (await core.get(i)).length
  const getS = c.now() - t0
  if (bytes !== getN * o.size) throw new Error(`get read ${bytes} bytes, want ${getN * o.size}`)
  t0 = c.now()
  bytes = await streamAll(core, o.n)
  const streamS = c.now() - t0
  if (bytes !== o.n * o.size) throw new Error(`stream read ${bytes} bytes, want ${o.n * o.size}`)
  return { case: 'read', ...o, getS, getBlocksPerS: getN / getS, streamS, streamBlocksPerS: o.n / streamS, daemonBlocked: d.blocked }
}

function streamAll (core, n) {
  let bytes = 0
  return new Promise((resolve, reject) => {
    const rs = core.createReadStream({ start: 0, end: n })
    rs.on('data', (b) => { bytes += b.length })
    rs.on('end', () => resolve(bytes))
    rs.on('error', reject)
  })
}

async function startupCase () {
  const o = c.args({ spawns: 5, cores: 1000, 'settle-ms': 2000 })
  const bootstrap = await c.startBootstrap()
  const spawnS = []
  let last
  for (let i = 0; i < o.spawns; i++) {
    const d = c.spawnDaemon({ storage: c.tmpDir('startup'), host: `hspbench-startup-${process.pid}-${i}`, bootstrap })
    const { client, seconds } = await c.waitForDaemon(d)
    spawnS.push(seconds)
    if (i < o.spawns - 1) {
      await c.closeClient(client)
      await c.stopDaemon(d)
    } else {
      last = { d, client }
    }
  }
  await c.withTimeout(dhtReady(last.client), 30000, "the daemon's DHT node")
  await c.sleep(o['settle-ms'])
  const idleRssBytes = c.rssBytes(last.d.pid)
  const held = []
  for (let j = 0; j < o.cores; j++) held.push(await c.newCore(last.client))
  await c.sleep(o['settle-ms'])
  const coresRssBytes = c.rssBytes(last.d.pid)
  return { case: 'startup', ...o, spawnSeconds: spawnS, idleRssBytes, coresHeld: held.length, coresRssBytes, daemonBlocked: last.d.blocked }
}

// dhtReady returns once the daemon's DHT node works: a lookup of a random topic, flushed (its
// first round done, which needs the bootstrap node's answers), then the topic is left, so the
// daemon joins no topic, as the hsp side's waitJoined leaves its daemon (bench/startup.go).
async function dhtReady (client) {
  const topic = require('crypto').randomBytes(32)
  await client.network.configure(topic, { announce: false, lookup: true, flush: true })
  await client.network.configure(topic, { announce: false, lookup: false })
}

const name = process.argv[2]
if (!cases[name]) {
  process.stderr.write('usage: node run.js append|read|startup [--flag value ...]\n')
  process.exit(2)
}
c.main(cases[name])
