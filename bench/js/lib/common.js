'use strict'
// Helpers of the JS side of `go run ./bench`, adapted from shared/js/bench/lib/common.js:
// a local DHT bootstrap, the `hyperspace` daemon spawned with the loopback preload, clients,
// RSS from /proc, cleanups, and incompressible blocks from crypto.randomBytes.
const guard = require('./loopback') // must come first: guard + mDNS stub

const os = require('os')
const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { spawn } = require('child_process')

const BENCH_DIR = path.join(__dirname, '..')
const LOOPBACK_PRELOAD = path.join(__dirname, 'loopback.js')
const HYPERSPACE_BIN = path.join(path.dirname(require.resolve('hyperspace/package.json', { paths: [BENCH_DIR] })), 'bin', 'index.js')

// ---------- time ----------
function now () { return Number(process.hrtime.bigint()) / 1e9 } // seconds
const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))

// withTimeout rejects, naming what, unless promise settles within ms.
function withTimeout (promise, ms, what) {
  let t
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((resolve, reject) => { t = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms) })
  ])
}

// ---------- cleanup (LIFO) ----------
const cleanups = []
function onCleanup (fn) { cleanups.push(fn); return fn }
function offCleanup (fn) { const i = cleanups.lastIndexOf(fn); if (i !== -1) cleanups.splice(i, 1) }
async function runCleanups () {
  while (cleanups.length) {
    const fn = cleanups.pop()
    try { await fn() } catch (err) { process.stderr.write('cleanup error: ' + (err && err.message) + '\n') }
  }
}

// main runs fn, prints its result as one JSON line, cleans up and exits (1 on error).
async function main (fn, { timeoutS = 900 } = {}) {
  const t = setTimeout(async () => {
    process.stderr.write(`watchdog: exceeded ${timeoutS}s\n`)
    setTimeout(() => process.exit(2), 15000).unref()
    await runCleanups()
    process.exit(2)
  }, timeoutS * 1000)
  t.unref()
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, async () => { await runCleanups(); process.exit(130) })
  try {
    const result = await fn()
    await runCleanups()
    process.stdout.write(JSON.stringify({ type: 'result', offLoopbackBlocked: guard.stats.blocked, ...result }) + '\n')
    process.exit(0)
  } catch (err) {
    process.stderr.write(String((err && err.stack) || err) + '\n')
    await runCleanups()
    process.exit(1)
  }
}

// ---------- temp dirs ----------
function tmpDir (prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hspbench-js-' + prefix + '-'))
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

// ---------- data ----------
// Incompressible blocks: windows of a pool of crypto.randomBytes, taken in turn, so no two
// blocks of one run share bytes until the pool (at most 64 MiB) wraps.
const POOL_MAX = 64 << 20
function blockSource (total, size) {
  const pool = crypto.randomBytes(Math.min(total, POOL_MAX) + size)
  let off = 0
  return () => {
    if (off + size > pool.length) off = 0
    const b = pool.subarray(off, off + size)
    off += size
    return b
  }
}

// ---------- local DHT bootstrap ----------
async function startBootstrap () {
  const dht = require(require.resolve('@hyperswarm/dht', { paths: [BENCH_DIR] }))
  const node = dht({ bootstrap: false, ephemeral: false })
  await new Promise((resolve, reject) => {
    node.once('error', reject)
    node.listen(0, '127.0.0.1', () => { node.removeListener('error', reject); resolve() })
  })
  onCleanup(() => new Promise(resolve => {
    if (node.destroyed) return resolve()
    node.once('close', resolve)
    node.destroy()
    setTimeout(resolve, 2000).unref()
  }))
  return '127.0.0.1:' + node.address().port
}

// ---------- daemon process ----------
function socketPathFor (host) { return path.join(os.tmpdir(), host + '.sock') }
function uniqueHost (tag) { return `hspbench-${tag}-${process.pid}-${crypto.randomBytes(3).toString('hex')}` }

// spawnDaemon starts the package's `hyperspace` bin (with the loopback preload) on an
// empty storage dir. With allowLoopbackPeers the preload also removes @corestore/networker's
// check that drops peers on 127.0.0.1 (HS_BENCH_ALLOW_LOOPBACK_PEERS=1; see loopback.js), so
// that two daemons of this host replicate.
function spawnDaemon ({ storage, host, bootstrap, allowLoopbackPeers = false }) {
  const args = ['-r', LOOPBACK_PRELOAD, HYPERSPACE_BIN,
    '--host', host, '--storage', storage, '--bootstrap', bootstrap, '--no-migrate']
  const env = { ...process.env, HOME: storage }
  delete env.HS_BENCH_ALLOW_LOOPBACK_PEERS
  if (allowLoopbackPeers) env.HS_BENCH_ALLOW_LOOPBACK_PEERS = '1'
  const t0 = now()
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const d = { proc, pid: proc.pid, host, t0, blocked: 0, stderr: '', exited: false }
  proc.stdout.resume()
  proc.stderr.on('data', (c) => {
    const s = c.toString()
    d.blocked += (s.match(/\[loopback-guard\] blocked/g) || []).length
    if (d.stderr.length < 65536) d.stderr += s
  })
  d.exitPromise = new Promise(resolve => proc.once('exit', () => { d.exited = true; resolve() }))
  onCleanup(() => stopDaemon(d))
  return d
}

async function stopDaemon (d) {
  if (d.exited) return
  try { process.kill(d.pid, 'SIGTERM') } catch (_) {}
  let timer
  const stopped = await Promise.race([d.exitPromise.then(() => true), new Promise(resolve => { timer = setTimeout(resolve, 10000, false) })])
  clearTimeout(timer)
  if (!stopped) {
    try { process.kill(d.pid, 'SIGKILL') } catch (_) {}
    await d.exitPromise
  }
  try { fs.unlinkSync(socketPathFor(d.host)) } catch (_) {}
}

function Client () {
  return require(require.resolve('hyperspace', { paths: [BENCH_DIR] })).Client
}

// connect returns a new client of daemon d whose status() has answered.
async function connect (d) {
  const client = new (Client())({ host: d.host })
  await client.status()
  onCleanup(() => closeClient(client))
  return client
}

// waitForDaemon polls until a fresh client's status() answers; returns the client and the
// seconds since spawn.
async function waitForDaemon (d, timeoutS = 60) {
  const HyperspaceClient = Client()
  const sock = socketPathFor(d.host)
  const end = now() + timeoutS
  while (true) {
    if (d.exited) throw new Error('daemon exited early: ' + d.stderr.slice(-2000))
    if (now() > end) throw new Error('daemon not ready in ' + timeoutS + 's')
    if (fs.existsSync(sock)) {
      const client = new HyperspaceClient({ host: d.host })
      try {
        await client.status()
        const seconds = now() - d.t0
        onCleanup(() => closeClient(client))
        return { client, seconds }
      } catch (_) {
        await closeClient(client)
      }
    }
    await sleep(2)
  }
}

async function closeClient (client) {
  // a client closing its socket may report a premature-close error: not a failure
  try { client._client.on('error', () => {}) } catch (_) {}
  try { await client.close() } catch (_) {}
}

// startDaemon spawns a daemon on a new storage dir and waits for it.
async function startDaemon (tag, bootstrap, { allowLoopbackPeers = false } = {}) {
  const d = spawnDaemon({ storage: tmpDir(tag), host: uniqueHost(tag), bootstrap, allowLoopbackPeers })
  const { client } = await waitForDaemon(d)
  d.client = client
  return d
}

async function newCore (client) {
  const core = client.corestore().get({ valueEncoding: 'binary' })
  await core.ready()
  return core
}

// ---------- memory ----------
function rssBytes (pid) {
  const txt = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = txt.match(/^VmRSS:\s+(\d+) kB/m)
  return m ? Number(m[1]) * 1024 : null
}

// ---------- arguments: --key value or --key=value; numbers only ----------
function args (defaults) {
  const out = { ...defaults }
  const a = process.argv.slice(3)
  for (let i = 0; i < a.length; i++) {
    const m = a[i].match(/^--([^=]+)(?:=(.*))?$/)
    if (!m) throw new Error('unexpected argument ' + a[i])
    if (!(m[1] in defaults)) throw new Error('unknown flag --' + m[1])
    out[m[1]] = Number(m[2] !== undefined ? m[2] : a[++i])
  }
  return out
}

module.exports = {
  guard,
  now,
  sleep,
  withTimeout,
  main,
  onCleanup,
  offCleanup,
  tmpDir,
  blockSource,
  startBootstrap,
  spawnDaemon,
  stopDaemon,
  startDaemon,
  waitForDaemon,
  connect,
  closeClient,
  newCore,
  rssBytes,
  args
}
