// A real hypercore 9 peer for the interop tests of hsp's swarm/replicate
// package (jspeer_test.go). It replicates one core over one TCP connection on
// 127.0.0.1 as Hyperspace does: socket.pipe(core.replicate(initiator, { live: true })).pipe(socket)
//
// Usage: node peer.js (--listen | --connect PORT) (--blocks N | --key HEX) [--sparse] [--nonlive] [--ack]
//   --listen   accept one connection on a free port; replicate as the responder
//   --connect  dial 127.0.0.1:PORT; replicate as the initiator
//   --blocks   be the writer of a core of N blocks, appended in irregular batches
//   --key      be a reader of this core
//   --sparse   open the core sparse (fetch only what is asked)
//   --nonlive  replicate with live: false (the channel ends when done)
//   --ack      replicate with ack: true (the remote acknowledges blocks)
//
// Block i is block(i) below (irregular sizes, 0 included); jspeer_test.go
// makes the same bytes. The writer appends in batches of 1 + (k*37) % 23
// blocks, so signed lengths are irregular too.
//
// Commands on stdin, one JSON object a line:
//   {"cmd":"append","n":K}            append K more blocks; prints "appended" {length}
//   {"cmd":"wait","start":S,"end":E}  download [S,E), check every block's bytes;
//                                     prints "verified" {start,end,bad}
//   {"cmd":"get","index":I}           get block I (waiting for it); prints "block" {index,data: hex}
//   {"cmd":"ext","payload":HEX}       broadcast an "hsp-echo" extension message
//   {"cmd":"sext","payload":HEX}      send an "hsp-stream" stream-level extension message
// Events on stdout, JSON lines: "ready" {port,key,discoveryKey}, "handshake",
// "extension" {payload} (and the payload is echoed back), "stream-extension"
// {payload} (echoed back too), "appended",
// "verified", "error" {message}, "closed" {acks: acknowledgements received}.
// Exits when stdin ends.
'use strict'

const net = require('net')
const readline = require('readline')
const hypercore = require('hypercore')
const ram = require('random-access-memory')
const crypto = require('hypercore-crypto')

function args () {
  const a = process.argv.slice(2)
  const o = { listen: false, connect: 0, blocks: -1, key: null, sparse: false, nonlive: false, ack: false }
  for (let i = 0; i < a.length; i++) {
    const k = a[i]
    if (k === '--listen') o.listen = true
    else if (k === '--connect') o.connect = Number(a[++i])
    else if (k === '--blocks') o.blocks = Number(a[++i])
    else if (k === '--key') o.key = Buffer.from(a[++i], 'hex')
    else if (k === '--sparse') o.sparse = true
    else if (k === '--nonlive') o.nonlive = true
    else if (k === '--ack') o.ack = true
    else throw new Error('unknown argument ' + k)
  }
  if (o.listen === !!o.connect) throw new Error('need exactly one of --listen and --connect PORT')
  if ((o.blocks >= 0) === !!o.key) throw new Error('need exactly one of --blocks N and --key HEX')
  return o
}

function log (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// block(i): (i*7919) % 3001 bytes, byte j = (i*31 + j*17 + (j >> 8)) % 256.
function block (i) {
  const b = Buffer.alloc((i * 7919) % 3001)
  for (let j = 0; j < b.length; j++) b[j] = (i * 31 + j * 17 + (j >> 8)) % 256
  return b
}

function cb (fn) {
  return new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
}

async function appendBlocks (feed, n, k) {
  let batch = 0
  while (n > 0) {
    const size = Math.min(n, 1 + ((k + batch) * 37) % 23)
    const blocks = []
    for (let i = 0; i < size; i++) blocks.push(block(feed.length + i))
    await cb(done => feed.append(blocks, done))
    n -= size
    batch++
  }
  return batch
}

async function waitRange (feed, start, end) {
  await cb(done => feed.download({ start, end }, done))
  let bad = 0
  for (let i = start; i < end; i++) {
    const got = await cb(done => feed.get(i, done))
    if (!got.equals(block(i))) bad++
  }
  return bad
}

let streamExt = null

function serve (feed, socket, initiator, o) {
  const stream = feed.replicate(initiator, { live: !o.nonlive, ack: o.ack })
  streamExt = stream.registerExtension('hsp-stream', {
    encoding: 'binary',
    onmessage (message) {
      log({ event: 'stream-extension', payload: message.toString('hex') })
      streamExt.send(message)
    }
  })
  let acks = 0
  stream.on('ack', () => acks++)
  stream.on('handshake', () => log({ event: 'handshake' }))
  stream.on('error', err => log({ event: 'error', message: err.message }))
  stream.on('close', () => { log({ event: 'closed', acks }); socket.destroy() })
  socket.on('error', () => {})
  socket.pipe(stream).pipe(socket)
}

async function main () {
  const o = args()
  let feed
  if (o.key) {
    feed = hypercore(ram, o.key, { sparse: o.sparse })
  } else {
    const kp = crypto.keyPair(Buffer.alloc(32, 9))
    feed = hypercore(ram, kp.publicKey, { secretKey: kp.secretKey, sparse: o.sparse })
  }
  await cb(done => feed.ready(done))
  let batches = 0
  if (o.blocks > 0) batches = await appendBlocks(feed, o.blocks, 0)
  const echo = feed.registerExtension('hsp-echo', {
    encoding: 'binary',
    onmessage (message) {
      log({ event: 'extension', payload: message.toString('hex') })
      echo.broadcast(message)
    }
  })
  const ready = { event: 'ready', key: feed.key.toString('hex'), discoveryKey: feed.discoveryKey.toString('hex') }

  if (o.listen) {
    const server = net.createServer(socket => { server.close(); serve(feed, socket, false, o) })
    server.listen(0, '127.0.0.1', () => log({ ...ready, port: server.address().port }))
  } else {
    log(ready)
    serve(feed, net.connect(o.connect, '127.0.0.1'), true, o)
  }

  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', async line => {
    const c = JSON.parse(line)
    try {
      if (c.cmd === 'append') {
        batches += await appendBlocks(feed, c.n, batches)
        log({ event: 'appended', length: feed.length })
      } else if (c.cmd === 'wait') {
        const bad = await waitRange(feed, c.start, c.end)
        log({ event: 'verified', start: c.start, end: c.end, bad, length: feed.length })
      } else if (c.cmd === 'get') {
        const got = await cb(done => feed.get(c.index, done))
        log({ event: 'block', index: c.index, data: got.toString('hex') })
      } else if (c.cmd === 'ext') {
        echo.broadcast(Buffer.from(c.payload, 'hex'))
      } else if (c.cmd === 'sext') {
        streamExt.send(Buffer.from(c.payload, 'hex'))
      }
    } catch (err) {
      log({ event: 'error', message: err.message })
    }
  })
  rl.on('close', () => process.exit(0))
}

main().catch(err => { console.error(err); process.exit(1) })
