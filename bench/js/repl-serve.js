#!/usr/bin/env node
'use strict'
// The JS server of the replication workloads of `go run ./bench` (see bench/main.go), adapted
// from shared/js/hypercore9/serve-tcp.js: one hypercore 9 stored on disk (random-access-file,
// as Hyperspace stores), filled with the blocks of a file the Go side wrote (so every side
// serves the very same incompressible bytes), served over plain TCP on 127.0.0.1, one live
// replication stream per socket, as Hyperspace replicates:
//   net.createServer(socket => socket.pipe(core.replicate(false, { live: true })).pipe(socket))
//
//   node repl-serve.js --file BLOCKS --size BYTES --dir STORAGE [--batch 100]
//
// Prints one JSON line once listening:
//   {"type":"listening","port":..,"key":"<hex>","length":..,"byteLength":..}
// and serves until SIGTERM/SIGINT.
const guard = require('./lib/loopback') // must come first: the loopback guard
const fs = require('fs')
const net = require('net')
const hypercore = require('hypercore')

function args () {
  const a = process.argv.slice(2)
  const o = { file: null, size: 0, dir: null, batch: 100 }
  for (let i = 0; i < a.length; i++) {
    const k = a[i]
    if (k === '--file') o.file = a[++i]
    else if (k === '--size') o.size = Number(a[++i])
    else if (k === '--dir') o.dir = a[++i]
    else if (k === '--batch') o.batch = Number(a[++i])
    else throw new Error('unknown argument ' + k)
  }
  if (!o.file || !o.size || !o.dir) throw new Error('need --file, --size and --dir')
  return o
}

const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

async function main () {
  const o = args()
  const data = fs.readFileSync(o.file)
  if (data.length % o.size !== 0) throw new Error(`${o.file}: ${data.length} bytes is no whole number of ${o.size}-byte blocks`)
  const n = data.length / o.size
  const core = hypercore(o.dir)
  await cb(done => core.ready(done))
  for (let i = 0; i < n; i += o.batch) {
    const batch = []
    for (let j = i; j < Math.min(n, i + o.batch); j++) batch.push(data.subarray(j * o.size, (j + 1) * o.size))
    await cb(done => core.append(batch, done))
  }
  const server = net.createServer(socket => {
    const stream = core.replicate(false, { live: true })
    socket.pipe(stream).pipe(socket)
    stream.on('error', () => socket.destroy())
    socket.on('error', () => stream.destroy())
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  process.stdout.write(JSON.stringify({
    type: 'listening',
    port: server.address().port,
    key: core.key.toString('hex'),
    length: core.length,
    byteLength: core.byteLength,
    offLoopbackBlocked: guard.stats.blocked
  }) + '\n')
  const stop = () => {
    server.close()
    core.close(() => process.exit(guard.stats.blocked ? 3 : 0))
    setTimeout(() => process.exit(guard.stats.blocked ? 3 : 0), 5000).unref()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch(err => { process.stderr.write(String((err && err.stack) || err) + '\n'); process.exit(1) })
