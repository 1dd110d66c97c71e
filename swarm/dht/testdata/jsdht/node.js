'use strict'
// One @hyperswarm/dht 4 node for the Go interop tests, on 127.0.0.1 only.
// Usage: node node.js '{"bootstrap":["127.0.0.1:PORT"],"ephemeral":true}'
// Reads one JSON command per line on stdin:
//   {"id":1,"cmd":"announce"|"lookup"|"unannounce","topic":"<64 hex>"}
//   {"id":2,"cmd":"holepunch","peer":"h:p","referrer":"h:p"}
//   {"id":3,"cmd":"status"}   {"id":4,"cmd":"bootstrap"}
// and prints one JSON object per line: {"event":"listening",...}, then
// {"event":"ready"}, node events, and per command "result" lines and one
// "done" line (with "error" when it failed). Exits when stdin ends.
require('./loopback')
const dht = require('@hyperswarm/dht')
const readline = require('readline')

const cfg = JSON.parse(process.argv[2] || '{}')
const node = dht({ bootstrap: cfg.bootstrap || [], ephemeral: !!cfg.ephemeral })
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const hex = (b) => b ? b.toString('hex') : null
const hp = (s) => { const [host, port] = s.split(':'); return { host, port: Number(port) } }

node.on('announce', (t, from) => out({ event: 'announce', topic: hex(t), from }))
node.on('unannounce', (t, from) => out({ event: 'unannounce', topic: hex(t), from }))
node.on('lookup', (t, from) => out({ event: 'lookup', topic: hex(t), from }))
node.on('holepunch', (from, to) => out({ event: 'holepunch', from, to }))
node.on('warning', () => {})
node.on('ready', () => out({ event: 'ready' }))

function stream (id, s) {
  s.on('data', (d) => out({
    event: 'result',
    id,
    node: { id: hex(d.node.id), host: d.node.host, port: d.node.port },
    to: d.to,
    peers: d.peers
  }))
  s.on('error', (err) => out({ event: 'done', id, error: err.message }))
  s.on('end', () => out({ event: 'done', id }))
}

const commands = {
  announce: (c) => stream(c.id, node.announce(Buffer.from(c.topic, 'hex'), { port: c.port })),
  lookup: (c) => stream(c.id, node.lookup(Buffer.from(c.topic, 'hex'))),
  unannounce: (c) => node.unannounce(Buffer.from(c.topic, 'hex'), (err) =>
    out({ event: 'done', id: c.id, error: err ? err.message : undefined })),
  holepunch: (c) => node.holepunch({ ...hp(c.peer), referrer: hp(c.referrer) }, (err) =>
    out({ event: 'done', id: c.id, error: err ? err.message : undefined })),
  bootstrap: (c) => node.bootstrap((err) => out({ event: 'done', id: c.id, error: err ? err.message : undefined })),
  status: (c) => out({
    event: 'done',
    id: c.id,
    nodes: node.nodes.length,
    remoteAddress: node.remoteAddress(),
    holepunchable: node.holepunchable(),
    bootstrapped: node.bootstrapped
  })
}

node.listen(cfg.port || 0, '127.0.0.1', () => {
  out({ event: 'listening', host: '127.0.0.1', port: node.address().port, id: hex(node.id) })
  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    const c = JSON.parse(line)
    try { commands[c.cmd](c) } catch (err) { out({ event: 'done', id: c.id, error: err.message }) }
  })
  rl.on('close', () => { node.destroy(); setTimeout(() => process.exit(0), 20) })
})
