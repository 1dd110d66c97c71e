// A real hypercore 9 / hypercore-protocol 8 peer for the live tests of hsp's
// swarm/wire package (jspeer_test.go). It serves one writable core over one
// TCP connection on 127.0.0.1, as a Hyperspace daemon would replicate it:
//   socket.pipe(core.replicate(initiator, { live: true, keyPair })).pipe(socket)
//
// Usage: node peer.js (--listen | --connect PORT) [--blocks N] [--master HEX64] [--timeout MS]
//   --listen   accept one connection on a free port; replicate as the responder
//   --connect  dial 127.0.0.1:PORT; replicate as the initiator
//   --blocks   blocks to append to the core before serving (default 21)
//   --master   a Corestore master key: print the Noise public key Hyperspace
//              derives from it (derive-key + hypercore-protocol keyPair)
//   --timeout  the stream timeout (default 20000); keep-alives go out at half of it
//
// Prints JSON lines on stdout: first {"event":"ready", port, key, discoveryKey,
// noisePublicKey, expectedReplicationKey}, then "handshake" (remotePublicKey),
// "extension" (payload echoed on the stream extension "hsp-echo"), "error"
// (message) and "closed". Exits when its stdin ends.
'use strict'

const net = require('net')
const hypercore = require('hypercore')
const ram = require('random-access-memory')
const crypto = require('hypercore-crypto')
const Protocol = require('hypercore-protocol')
const deriveKey = require('derive-key')

function args () {
  const a = process.argv.slice(2)
  const o = { listen: false, connect: 0, blocks: 21, master: null, timeout: 20000 }
  for (let i = 0; i < a.length; i++) {
    const k = a[i]
    if (k === '--listen') o.listen = true
    else if (k === '--connect') o.connect = Number(a[++i])
    else if (k === '--blocks') o.blocks = Number(a[++i])
    else if (k === '--master') o.master = Buffer.from(a[++i], 'hex')
    else if (k === '--timeout') o.timeout = Number(a[++i])
    else throw new Error('unknown argument ' + k)
  }
  if (o.listen === !!o.connect) throw new Error('need exactly one of --listen and --connect PORT')
  return o
}

function log (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function expectedReplicationKey (master) {
  if (!master) return null
  const seed = deriveKey('@hypercore-protocol/hyperspace', master, 'replication-keypair')
  return Protocol.keyPair(seed).publicKey.toString('hex')
}

function serve (core, keyPair, socket, initiator, timeout) {
  const stream = core.replicate(initiator, { live: true, keyPair, timeout })
  const echo = stream.registerExtension('hsp-echo', {
    onmessage (message) {
      log({ event: 'extension', payload: message.toString('hex') })
      echo.send(message)
    }
  })
  stream.on('handshake', () => log({ event: 'handshake', remotePublicKey: stream.remotePublicKey.toString('hex') }))
  stream.on('error', err => log({ event: 'error', message: err.message }))
  stream.on('close', () => { log({ event: 'closed' }); socket.destroy() })
  socket.on('error', () => {})
  socket.pipe(stream).pipe(socket)
}

async function main () {
  const o = args()
  const kp = crypto.keyPair(Buffer.alloc(32, 7))
  const core = hypercore(ram, kp.publicKey, { secretKey: kp.secretKey })
  const blocks = []
  for (let i = 0; i < o.blocks; i++) blocks.push(Buffer.from('block ' + i))
  await new Promise((resolve, reject) => core.append(blocks, err => err ? reject(err) : resolve()))
  const keyPair = Protocol.keyPair()
  const ready = {
    event: 'ready',
    key: kp.publicKey.toString('hex'),
    discoveryKey: crypto.discoveryKey(kp.publicKey).toString('hex'),
    noisePublicKey: keyPair.publicKey.toString('hex'),
    expectedReplicationKey: expectedReplicationKey(o.master)
  }

  if (o.listen) {
    const server = net.createServer(socket => { server.close(); serve(core, keyPair, socket, false, o.timeout) })
    server.listen(0, '127.0.0.1', () => log({ ...ready, port: server.address().port }))
  } else {
    log(ready)
    serve(core, keyPair, net.connect(o.connect, '127.0.0.1'), true, o.timeout)
  }
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}

main().catch(err => { console.error(err); process.exit(1) })
