'use strict'
// JS Hyperspace 3.19 as a peer of hsp, for TestHyperspaceNetns
// (hyperspace_netns_test.go): a Hyperspace server, as its bin starts it
// (ephemeral DHT node, the given bootstrap, its own storage and socket name),
// and one client of it, driven by JSON lines. The test runs it in a network
// namespace of its own, so that its networker sees hsp at a real address (it
// ignores peers that come from 127.0.0.1). Only multicast DNS is stubbed
// (lib/mdns-stub.js); nothing else is changed.
//
// Usage: node hyperspace-peer.js '{"bootstrap":["10.77.0.1:49737"],"storage":"DIR"}'
//
// Prints {"event":"ready","publicKey":"<hex>"} once the client's status
// answers, then reads one command per line on stdin:
//   {"id":1,"cmd":"create","blocks":["<base64>",...]}      a new core: result {key, discoveryKey, length}
//   {"id":2,"cmd":"open","key":"<hex>"}                    a core by key: result {key, discoveryKey, length, writable}
//   {"id":3,"cmd":"append","key":K,"blocks":[...]}         result {length}
//   {"id":4,"cmd":"configure","key":K,"announce":B,"lookup":B}   the client's configure, flushed
//   {"id":5,"cmd":"read","key":K,"start":S,"end":E}        update to E if shorter, then get(i) for
//                                                           i in [S, E): one result {index, data} each
//   {"id":6,"cmd":"follow","key":K,"from":N}               then, for ever, update (waiting) and get:
//                                                           {"event":"block","key":K,"index":I,"data":...}
//   {"id":7,"cmd":"status","key":K}                        result {length, peers, networkPeers,
//                                                           swarmPort, mdnsStubs, mdnsReal}: the
//                                                           stubs made, and any real multicast-dns
//                                                           loaded (none); K may be left out
// Each command ends with {"event":"done","id":..}, with "error" when it
// failed. Opened cores report {"event":"peer-add","key":K,"remoteAddress":A}
// and {"event":"append","key":K,"length":N}; the networker's connections
// {"event":"connection","remoteAddress":A,"type":T,"client":B}. Exits when
// stdin ends, closing the client and then the server.
const mdns = require('./lib/mdns-stub') // before hyperspace
const os = require('os')
const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const readline = require('readline')
const { Server, Client } = require('hyperspace')

const cfg = JSON.parse(process.argv[2] || '{}')
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const log = (s) => process.stderr.write('[hyperspace-peer] ' + s + '\n')
const hex = (b) => b ? b.toString('hex') : null
const b64 = (b) => Buffer.from(b).toString('base64')
const bufs = (list) => (list || []).map(s => Buffer.from(s, 'base64'))

if (!cfg.storage || !cfg.bootstrap) throw new Error('usage: node hyperspace-peer.js \'{"bootstrap":["HOST:PORT"],"storage":"DIR"}\'')
const host = 'hspjs-' + process.pid + '-' + crypto.randomBytes(4).toString('hex')
const server = new Server({
  storage: cfg.storage,
  host,
  network: { bootstrap: cfg.bootstrap, ephemeral: true }
})
let client = null
const cores = new Map() // hex key → RemoteHypercore
let closing = false

function watch (core) {
  const key = hex(core.key)
  core.on('peer-add', (peer) => out({ event: 'peer-add', key, remoteAddress: peer.remoteAddress, type: peer.type }))
  core.on('append', () => out({ event: 'append', key, length: core.length }))
  cores.set(key, core)
  return core
}

function coreOf (c) {
  const core = cores.get(c.key)
  if (!core) throw new Error('no core ' + c.key + ' opened here')
  return core
}

async function read (c, core, emit) {
  if (core.length < c.end) await core.update({ minLength: c.end })
  for (let i = c.start || 0; i < c.end; i++) emit(i, await core.get(i))
}

async function follow (core, from) {
  const key = hex(core.key)
  for (let next = from; !closing;) {
    while (next < core.length) {
      out({ event: 'block', key, index: next, data: b64(await core.get(next)) })
      next++
    }
    await core.update({ ifAvailable: false, minLength: next + 1 })
  }
}

const commands = {
  async create (c) {
    const core = client.corestore().get({ valueEncoding: 'binary' })
    await core.ready()
    watch(core)
    if (c.blocks && c.blocks.length) await core.append(bufs(c.blocks))
    return { key: hex(core.key), discoveryKey: hex(core.discoveryKey), length: core.length }
  },
  async open (c) {
    let core = cores.get(c.key)
    if (!core) {
      core = client.corestore().get(Buffer.from(c.key, 'hex'), { valueEncoding: 'binary' })
      await core.ready()
      watch(core)
    }
    return { key: hex(core.key), discoveryKey: hex(core.discoveryKey), length: core.length, writable: core.writable }
  },
  async append (c) {
    const core = coreOf(c)
    await core.append(bufs(c.blocks))
    return { length: core.length }
  },
  async configure (c) {
    const core = coreOf(c)
    await client.network.configure(core.discoveryKey, { announce: !!c.announce, lookup: !!c.lookup, flush: true, remember: false })
    return { status: await client.network.status(core.discoveryKey) }
  },
  async read (c, emit) {
    await read(c, coreOf(c), (index, block) => emit({ index, data: b64(block) }))
  },
  async follow (c) {
    const core = coreOf(c)
    follow(core, c.from).catch(err => { if (!closing) out({ event: 'follow-error', key: c.key, error: err.message }) })
  },
  async status (c) {
    const core = c.key ? coreOf(c) : null
    const swarm = server.networker.swarm
    const address = swarm && swarm.network.tcp.listening ? swarm.address() : null
    return {
      length: core ? core.length : null,
      peers: core ? core.peers.map(p => p.remoteAddress) : null,
      networkPeers: (client.network.peers || []).map(p => p.remoteAddress),
      swarmPort: address ? address.port : null,
      mdnsStubs: mdns.stats.instances,
      mdnsReal: mdns.realLoaded()
    }
  }
}

async function run (c) {
  try {
    const emit = (r) => out({ event: 'result', id: c.id, ...r })
    const r = await commands[c.cmd](c, emit)
    if (r) emit(r)
    out({ event: 'done', id: c.id })
  } catch (err) {
    out({ event: 'done', id: c.id, error: (err && err.message) || String(err) })
  }
}

async function close () {
  if (closing) return
  closing = true
  const t0 = Date.now()
  const timer = setTimeout(() => { log('not closed within 10 s: exiting'); process.exit(0) }, 10000)
  try { if (client) await client.close() } catch (err) { log('client close: ' + err.message) }
  log('client closed in ' + (Date.now() - t0) + ' ms')
  try { await server.close() } catch (err) { log('server close: ' + err.message) }
  log('server closed in ' + (Date.now() - t0) + ' ms')
  try { fs.unlinkSync(path.join(os.tmpdir(), host + '.sock')) } catch (_) {}
  clearTimeout(timer)
  process.exit(0)
}

async function main () {
  await server.ready()
  const networker = server.networker
  networker.on('replication-error', (err) => log('replication error: ' + (err && err.message)))
  networker.swarm.on('connection', (socket, info) => out({
    event: 'connection', remoteAddress: socket.remoteAddress, type: info.type, client: !!info.client
  }))
  client = new Client({ host })
  await client.ready()
  await client.status()
  await client.network.ready()
  out({ event: 'ready', publicKey: hex(client.network.keyPair.publicKey) })
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  rl.on('line', (line) => run(JSON.parse(line)))
  rl.on('close', close)
}

process.once('SIGTERM', close)
process.once('SIGINT', close)
main().catch(err => { log(String((err && err.stack) || err)); process.exit(1) })
