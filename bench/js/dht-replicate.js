#!/usr/bin/env node
'use strict'
// The JS side of the DHT workloads of `go run ./bench` (dht-1k, dht-64k; see bench/main.go
// and bench/dht.go): JS ↔ JS replication found through a local DHT, as in Hyperspace's
// "getting started". Two JS Hyperspace 3.19 daemons (the `hyperspace` bin, spawned as run.js
// spawns it, with lib/loopback.js preloaded) and one persistent @hyperswarm/dht 4.0.1
// bootstrap node on 127.0.0.1, all fresh for this run; the public bootstrap nodes are never
// used. The daemons run with HS_BENCH_ALLOW_LOOPBACK_PEERS=1: @corestore/networker drops
// peers on 127.0.0.1 (it expects local peers over mDNS at a LAN address), and the preload
// removes that one check in memory, so the two daemons of this host replicate.
//
//   node dht-replicate.js --file BLOCKS --size BYTES [--timeout-ms 300000]
//
// Untimed: daemon A's client creates a core, appends the blocks of the file (100 per call;
// the Go side wrote it, so every side serves the same incompressible bytes) and configures its
// discovery key with announce and lookup, flushed (the call returns once A's first announce
// round is done); daemon B is up and its DHT node works (a lookup of a random topic ended).
// Timed, from just before B's client asks for the core by key:
//   corestore().get(key), ready(), network.configure(discoveryKey, {lookup: true}) (returns
//   at once), update({ifAvailable: false}) (resolves once a peer told its length), download({start: 0, end:
//   length}) (resolves once every block is stored, hypercore having verified each).
// firstPeerSeconds is when B's client got its first 'peer-add' (hyperspace sends it on the
// core's 'peer-open': both sides opened the core's channel); seconds when download()
// resolved. Then, untimed, B's downloaded(0, n) must be n and every block equal to the
// file's. Prints one JSON line:
//   {"type":"result","seconds":..,"firstPeerSeconds":..,"blocks":..,"downloaded":..,...}
// and exits 0, or exits 1 with the reason on stderr.
const c = require('./lib/common') // must come first: the loopback guard
const fs = require('fs')

function args () {
  const a = process.argv.slice(2)
  const o = { file: null, size: 0, timeoutMs: 300000 }
  for (let i = 0; i < a.length; i++) {
    const k = a[i]
    if (k === '--file') o.file = a[++i]
    else if (k === '--size') o.size = Number(a[++i])
    else if (k === '--timeout-ms') o.timeoutMs = Number(a[++i])
    else throw new Error('unknown argument ' + k)
  }
  if (!o.file || !o.size) throw new Error('need --file and --size')
  return o
}

function withTimeout (promise, ms, what) {
  let t
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((resolve, reject) => { t = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms) })
  ])
}

// seed fills a new core of daemon a with the file's blocks and announces it, flushed.
async function seed (a, data, size) {
  const n = data.length / size
  const core = await c.newCore(a.client)
  for (let i = 0; i < n; i += 100) {
    const batch = []
    for (let j = i; j < Math.min(n, i + 100); j++) batch.push(data.subarray(j * size, (j + 1) * size))
    await core.append(batch)
  }
  await a.client.network.configure(core.discoveryKey, { announce: true, lookup: true, flush: true })
  return core
}

// dhtReady returns once daemon d's DHT node works: a lookup of a random topic, flushed (its
// first round done, which needs the bootstrap node's answers), then the topic is left. The
// status's remoteAddress would say so too, but dht-rpc sets it only after answers from
// several nodes, and this network has one.
async function dhtReady (d) {
  const topic = require('crypto').randomBytes(32)
  await d.client.network.configure(topic, { announce: false, lookup: true, flush: true })
  await d.client.network.configure(topic, { announce: false, lookup: false })
}

// fetch is the timed part: B asks for the core by key and downloads all of it.
async function fetch (b, key, timeoutMs) {
  const t = { t0: c.now() }
  const core = b.client.corestore().get(key, { valueEncoding: 'binary' })
  core.once('peer-add', () => { t.firstPeer = c.now() })
  await core.ready()
  await b.client.network.configure(core.discoveryKey, { announce: false, lookup: true })
  t.configured = c.now()
  await withTimeout(core.update({ ifAvailable: false }), timeoutMs, 'update (a peer telling its length)')
  t.updated = c.now()
  await withTimeout(core.download({ start: 0, end: core.length }), timeoutMs, 'download')
  t.done = c.now()
  return { core, t }
}

// check compares every block of B's core with the file.
async function check (core, data, size) {
  const n = data.length / size
  if (core.length !== n) throw new Error(`B's core has length ${core.length}, want ${n}`)
  const downloaded = await core.downloaded(0, n)
  if (downloaded !== n) throw new Error(`B's core: downloaded(0, ${n}) = ${downloaded}`)
  for (let i = 0; i < n; i++) {
    const got = await core.get(i, { wait: false })
    if (Buffer.compare(got, data.subarray(i * size, (i + 1) * size)) !== 0) throw new Error(`block ${i} differs from the file`)
  }
  return downloaded
}

async function run () {
  const o = args()
  const data = fs.readFileSync(o.file)
  if (data.length % o.size !== 0) throw new Error(`${o.file}: ${data.length} bytes is no whole number of ${o.size}-byte blocks`)
  const bootstrap = await c.startBootstrap()
  const a = await c.startDaemon('dht-a', bootstrap, { allowLoopbackPeers: true })
  const b = await c.startDaemon('dht-b', bootstrap, { allowLoopbackPeers: true })
  const src = await seed(a, data, o.size)
  await withTimeout(dhtReady(b), 30000, "B's DHT node")
  const { core, t } = await fetch(b, src.key, o.timeoutMs)
  if (t.firstPeer === undefined) throw new Error('the download ended without a peer-add')
  const downloaded = await check(core, data, o.size)
  return {
    seconds: t.done - t.t0,
    firstPeerSeconds: t.firstPeer - t.t0,
    configureSeconds: t.configured - t.t0,
    updateSeconds: t.updated - t.t0,
    blocks: core.length,
    downloaded,
    byteLength: core.byteLength,
    bootstrap,
    daemonBlocked: a.blocked + b.blocked
  }
}

c.main(run)
