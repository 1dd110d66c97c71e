'use strict'
// A hyperswarm 2.15.3 peer that speaks hypercore-protocol 8.0.7 on every
// connection, as Hyperspace 3 does, for the swarm's interop tests (package
// swarm, jsswarm_test.go), on 127.0.0.1 only, configured as
// @corestore/networker configures it (ephemeral, queue multiplexing), with a
// private DHT as its only bootstrap.
// Usage: node protopeer.js '{"bootstrap":["127.0.0.1:PORT"],"topic":"<64 hex>",
//   "announce":bool,"lookup":bool,"key":"<64 hex>","blocks":N,"blockSize":B}'
// On each connection it runs the Noise handshake (client = initiator), opens
// the core `key`, and once the remote opened it too sends Have{start 0,
// length N} and N Data blocks of B bytes, block i filled with the byte i%256.
// Prints one JSON object per line: {"event":"listening","port":N}, then
// {"event":"joined"}, {"event":"connection","type":"tcp"|"utp","client":bool},
// {"event":"handshake","type":...,"remotePublicKey":"<hex>"},
// {"event":"have","start":S,"length":L} per Have received, {"event":"error",
// "message":...}, {"event":"closed","type":...}. Exits when stdin ends.
require('./loopback')
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
  maxPeers: 8
})

swarm.on('listening', () => out({ event: 'listening', port: swarm.address().port }))

swarm.on('connection', (socket, info) => {
  const type = info.type
  out({ event: 'connection', type, client: !!info.client })
  const stream = new Protocol(!!info.client, { timeout: 20000 })
  stream.on('handshake', () => out({ event: 'handshake', type, remotePublicKey: stream.remotePublicKey.toString('hex') }))
  stream.on('error', (err) => out({ event: 'error', type, message: err.message }))
  stream.on('close', () => { out({ event: 'closed', type }); socket.destroy() })
  socket.on('error', () => {})
  socket.pipe(stream).pipe(socket)
  const channel = stream.open(key, {
    onopen () {
      channel.have({ start: 0, length: cfg.blocks || 0 })
      for (let i = 0; i < (cfg.blocks || 0); i++) {
        channel.data({ index: i, value: Buffer.alloc(cfg.blockSize || 1, i % 256) })
      }
    },
    onhave (m) { out({ event: 'have', start: m.start, length: m.length }) }
  })
})

swarm.join(topic, { announce: !!cfg.announce, lookup: !!cfg.lookup }, () => out({ event: 'joined' }))

process.stdin.on('end', () => {
  swarm.leave(topic)
  swarm.destroy(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
})
process.stdin.resume()
