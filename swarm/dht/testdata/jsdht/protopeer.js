'use strict'
// A hyperswarm 2.15.3 peer that speaks hypercore-protocol 8.0.7 on every
// connection, as Hyperspace 3 does, for the swarm's interop tests (package
// swarm, jsswarm_test.go and jsdedup_test.go), on 127.0.0.1 only,
// configured as @corestore/networker configures it (ephemeral, queue
// multiplexing), with a private DHT as its only bootstrap.
// Usage: node protopeer.js '{"bootstrap":["127.0.0.1:PORT"],"topic":"<64 hex>",
//   "announce":bool,"lookup":bool,"key":"<64 hex>","blocks":N,"blockSize":B,
//   "dedup":bool,"tcpOnly":bool,"exitAfter":MS}'
// On each connection it runs the Noise handshake (client = initiator), opens
// the core `key`, and once the remote opened it too sends Have{start 0,
// length N} and N Data blocks of B bytes, block i filled with the byte i%256.
// With "dedup" it does what @corestore/networker does instead: on the
// handshake it calls info.deduplicate(publicKey, remotePublicKey) and opens
// the core only on a connection that is no duplicate; and, as the networker,
// it uses one Noise key pair on every stream (without "dedup" each stream
// makes its own, hypercore-protocol's default). With "tcpOnly" the
// peers found are dialled over TCP alone (their referrer is dropped, so no
// holepunch and no uTP).
// Prints one JSON object per line: {"event":"listening","port":N}, then
// {"event":"joined"}, {"event":"connection","id":I,"type":"tcp"|"utp",
// "socketType":...,"client":bool,"localAddress","localPort","remoteAddress",
// "remotePort"} (type is info.type, what deduplicate goes by; socketType the
// socket's real kind), {"event":"handshake","id":I,"type":...,"client":bool,
// "publicKey":"<hex>","remotePublicKey":"<hex>"}, {"event":"duplicate","id":I,
// "at":"handshake"|"later",...} when deduplicate says the connection is a
// duplicate (at its handshake, or later when a newer one beats it),
// {"event":"have","id":I,"start":S,"length":L} per Have received,
// {"event":"error","id":I,"message":...}, {"event":"closed","id":I,"type":...}.
// Commands, one JSON object a line on stdin:
//   {"cmd":"conns"} → {"event":"conns","list":[{id,type,socketType,client,
//     duplicate,handshake,localAddress,localPort,remoteAddress,remotePort,
//     rx (bytes received),ended (the remote ended its side)}, …]}: the
//     connections whose socket is open, handshaken or not, duplicates too;
//   {"cmd":"dial","host":H,"port":P,"referrer":{"host":..,"port":..}} adds
//     the peer to the swarm's queue, as a lookup of the topic would.
// Exits when stdin ends, once the swarm is destroyed or exitAfter ms (1000)
// have passed.
require('./loopback')
const net = require('net')
const readline = require('readline')
const hyperswarm = require('hyperswarm')
const Protocol = require('hypercore-protocol')

const cfg = JSON.parse(process.argv[2] || '{}')
const topic = Buffer.from(cfg.topic, 'hex')
const key = Buffer.from(cfg.key, 'hex')
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

const swarm = hyperswarm({
  bootstrap: cfg.bootstrap,
  ephemeral: true,
  queue: { multiplex: true },
  maxPeers: 8,
  validatePeer (peer) {
    if (cfg.tcpOnly) peer.referrer = null
    return true
  }
})

const keyPair = cfg.dedup ? Protocol.keyPair() : null // the networker's one key pair
const conns = new Map() // id → connection record, while its socket is open
let nextId = 0

swarm.on('listening', () => out({ event: 'listening', port: swarm.address().port }))

swarm.on('connection', (socket, info) => {
  const type = info.type
  const isTCP = socket instanceof net.Socket
  const c = {
    id: ++nextId,
    type,
    socketType: isTCP ? 'tcp' : 'utp',
    client: !!info.client,
    duplicate: false,
    handshake: false,
    localAddress: isTCP ? socket.localAddress : '127.0.0.1',
    localPort: isTCP ? socket.localPort : swarm.address().port, // uTP runs on the port's UDP socket
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    rx: 0, // bytes received
    ended: false // the remote ended its side
  }
  conns.set(c.id, c)
  out({ event: 'connection', ...c })
  const id = c.id
  const stream = new Protocol(c.client, keyPair ? { timeout: 20000, keyPair } : { timeout: 20000 })
  let closed = false
  let deduping = false // inside our deduplicate call
  const onclose = () => {
    if (closed) return
    closed = true
    conns.delete(id)
    out({ event: 'closed', id, type })
  }
  info.on('duplicate', () => {
    if (info.stream !== socket || c.duplicate) return
    c.duplicate = true
    out({ event: 'duplicate', id, type, client: c.client, at: deduping ? 'handshake' : 'later' })
  })
  stream.on('handshake', () => {
    c.handshake = true
    out({
      event: 'handshake',
      id,
      type,
      client: c.client,
      publicKey: stream.publicKey.toString('hex'),
      remotePublicKey: stream.remotePublicKey.toString('hex')
    })
    if (!cfg.dedup) return
    // @corestore/networker: `info.deduplicate(localPublicKey, remotePublicKey)`
    deduping = true
    const dup = info.deduplicate(stream.publicKey, stream.remotePublicKey)
    deduping = false
    if (dup) {
      if (!c.duplicate) { // connected to self: destroyed, no 'duplicate' emitted
        c.duplicate = true
        out({ event: 'duplicate', id, type, client: c.client, at: 'handshake', self: true })
      }
      return // no replication on a duplicate
    }
    openCore(id, stream)
  })
  stream.on('error', (err) => out({ event: 'error', id, type, message: err.message }))
  stream.on('close', () => { onclose(); socket.destroy() })
  socket.on('close', onclose)
  socket.on('error', () => {})
  socket.on('data', (b) => { c.rx += b.length })
  socket.on('end', () => { c.ended = true })
  socket.pipe(stream).pipe(socket)
  if (!cfg.dedup) openCore(id, stream)
})

function openCore (id, stream) {
  const channel = stream.open(key, {
    onopen () {
      channel.have({ start: 0, length: cfg.blocks || 0 })
      for (let i = 0; i < (cfg.blocks || 0); i++) {
        channel.data({ index: i, value: Buffer.alloc(cfg.blockSize || 1, i % 256) })
      }
    },
    onhave (m) { out({ event: 'have', id, start: m.start, length: m.length }) }
  })
}

function queueOf (swarm) {
  const sym = Object.getOwnPropertySymbols(swarm).find((s) => s.description === 'hyperswarm.queue')
  return swarm[sym]
}

swarm.join(topic, { announce: !!cfg.announce, lookup: !!cfg.lookup }, () => out({ event: 'joined' }))

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let m
  try { m = JSON.parse(line) } catch (_) { return }
  switch (m.cmd) {
    case 'conns':
      out({ event: 'conns', list: [...conns.values()] })
      break
    case 'dial': {
      const peer = { host: m.host, port: m.port, local: false, referrer: m.referrer || null, topic }
      if (cfg.tcpOnly) peer.referrer = null
      queueOf(swarm).add(peer)
      out({ event: 'dialling', host: m.host, port: m.port })
      break
    }
  }
})

process.stdin.on('end', () => {
  swarm.leave(topic)
  swarm.destroy(() => process.exit(0))
  setTimeout(() => process.exit(0), cfg.exitAfter || 1000).unref()
})
process.stdin.resume()
