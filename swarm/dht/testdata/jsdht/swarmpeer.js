'use strict'
// One hyperswarm 2.15.3 peer for the tests of `hsp dht`, on 127.0.0.1 only,
// configured as @corestore/networker configures it in hyperspace 3
// (ephemeral, queue multiplexing), with a private DHT as its only bootstrap.
// Usage: node swarmpeer.js '{"name":"a","bootstrap":["127.0.0.1:PORT"],
//   "topic":"<64 hex>","announce":true,"lookup":false}'
// Prints one JSON object per line: {"event":"listening","port":N}, then
// {"event":"joined"} once the topic's first announce or lookup is flushed,
// {"event":"connection","type":"tcp"|"utp","client":bool} per connection,
// and {"event":"message","text":"...","type":...} per line one brings.
// Writes "hello from <name>\n" on every connection. Exits when stdin ends.
require('./loopback')
const hyperswarm = require('hyperswarm')

const cfg = JSON.parse(process.argv[2] || '{}')
const topic = Buffer.from(cfg.topic, 'hex')
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
  socket.on('error', () => {})
  socket.write('hello from ' + cfg.name + '\n')
  let buf = ''
  socket.on('data', (d) => {
    buf += d.toString()
    let nl
    while ((nl = buf.indexOf('\n')) !== -1) {
      out({ event: 'message', text: buf.slice(0, nl), type })
      buf = buf.slice(nl + 1)
    }
  })
})

swarm.join(topic, { announce: !!cfg.announce, lookup: !!cfg.lookup }, () => out({ event: 'joined' }))

process.stdin.on('end', () => {
  swarm.leave(topic)
  swarm.destroy(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
})
process.stdin.resume()
