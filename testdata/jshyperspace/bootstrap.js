'use strict'
// A persistent @hyperswarm/dht 4 node with no bootstrap of its own: the DHT
// bootstrap of TestHyperspaceNetns, run in a network namespace of the test.
// Usage: node bootstrap.js '{"host":"10.77.0.1","port":49737}'
// Prints {"event":"listening","host":H,"port":P,"id":"<hex>"}, then one line
// per request it serves: {"event":"announce"|"unannounce"|"lookup",
// "topic":"<hex>","from":{host,port}}. Exits when stdin ends.
const dht = require('@hyperswarm/dht')

const cfg = JSON.parse(process.argv[2] || '{}')
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const node = dht({ bootstrap: false, ephemeral: false })

for (const ev of ['announce', 'unannounce', 'lookup']) {
  node.on(ev, (topic, from) => out({ event: ev, topic: topic.toString('hex'), from }))
}
node.on('warning', (err) => process.stderr.write('dht warning: ' + (err && err.message) + '\n'))
node.on('error', (err) => { process.stderr.write(String((err && err.stack) || err) + '\n'); process.exit(1) })

node.listen(cfg.port || 0, cfg.host, () => {
  const { address, port } = node.address()
  out({ event: 'listening', host: address, port, id: node.id.toString('hex') })
})

process.stdin.on('end', () => {
  node.destroy()
  setTimeout(() => process.exit(0), 20)
})
process.stdin.resume()
