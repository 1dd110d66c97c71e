#!/usr/bin/env node
'use strict'
// The JS downloader of the replication workloads of `go run ./bench` (see bench/main.go),
// adapted from shared/js/hypercore9/download-tcp.js: downloads a whole hypercore 9 over plain
// TCP from 127.0.0.1 into a new core stored on disk (random-access-file, as Hyperspace stores;
// it never fsyncs), with a live replication stream, as Hyperspace replicates:
//   socket.pipe(core.replicate(true, { live: true })).pipe(socket)
//
//   node repl-download.js --key HEX --port P --dir STORAGE --file BLOCKS --size BYTES [--timeout-ms 300000]
//
// The timer runs from just before the connect until the core's 'sync' event with every block of
// the file stored (hypercore verified each block's proof before storing it). Then, untimed,
// every block is read back and compared with the file. Prints one JSON line:
//   {"type":"result","seconds":..,"blocks":..,"byteLength":..,"bytesSent":..,"bytesReceived":..}
// and exits 0, or exits 1 with the reason on stderr.
const guard = require('./lib/loopback') // must come first: the loopback guard
const fs = require('fs')
const net = require('net')
const hypercore = require('hypercore')

function args () {
  const a = process.argv.slice(2)
  const o = { key: null, port: 0, dir: null, file: null, size: 0, timeoutMs: 300000 }
  for (let i = 0; i < a.length; i++) {
    const k = a[i]
    if (k === '--key') o.key = Buffer.from(a[++i], 'hex')
    else if (k === '--port') o.port = Number(a[++i])
    else if (k === '--dir') o.dir = a[++i]
    else if (k === '--file') o.file = a[++i]
    else if (k === '--size') o.size = Number(a[++i])
    else if (k === '--timeout-ms') o.timeoutMs = Number(a[++i])
    else throw new Error('unknown argument ' + k)
  }
  if (!o.key || o.key.length !== 32 || !o.port || !o.dir || !o.file || !o.size) throw new Error('need --key, --port, --dir, --file and --size')
  return o
}

const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
const now = () => Number(process.hrtime.bigint()) / 1e9

function fail (msg) {
  process.stderr.write(msg + '\n')
  process.exit(1)
}

async function main () {
  const o = args()
  const data = fs.readFileSync(o.file)
  const n = data.length / o.size
  const core = hypercore(o.dir, o.key)
  await cb(done => core.ready(done))
  const complete = () => core.length === n && core.downloaded() === n

  const timer = setTimeout(() => fail(`timeout after ${o.timeoutMs} ms: ${core.downloaded()} of ${n} blocks`), o.timeoutMs)
  const t0 = now()
  const socket = net.connect(o.port, '127.0.0.1')
  const stream = core.replicate(true, { live: true })
  socket.pipe(stream).pipe(socket)
  stream.on('error', err => fail('stream error: ' + err.message))
  socket.on('error', err => fail('socket error: ' + err.message))
  socket.on('close', () => { if (!complete()) fail(`connection closed after ${core.downloaded()} of ${n} blocks`) })
  await new Promise(resolve => {
    const check = () => { if (complete()) { core.removeListener('sync', check); resolve() } }
    core.on('sync', check)
  })
  const seconds = now() - t0
  clearTimeout(timer)

  for (let i = 0; i < n; i++) {
    const b = await cb(done => core.get(i, { wait: false }, done))
    if (Buffer.compare(b, data.subarray(i * o.size, (i + 1) * o.size)) !== 0) fail(`block ${i} differs from the file`)
  }
  process.stdout.write(JSON.stringify({
    type: 'result',
    seconds,
    blocks: core.length,
    downloaded: core.downloaded(),
    byteLength: core.byteLength,
    bytesSent: stream.bytesSent,
    bytesReceived: stream.bytesReceived,
    offLoopbackBlocked: guard.stats.blocked
  }) + '\n')
  socket.removeAllListeners('close')
  socket.destroy()
  await cb(done => core.close(done))
  process.exit(0)
}

main().catch(err => { process.stderr.write(String((err && err.stack) || err) + '\n'); process.exit(1) })
