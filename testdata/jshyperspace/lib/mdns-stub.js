'use strict'
// Stubs JS Hyperspace's multicast DNS, and nothing else. @hyperswarm/discovery
// always starts LAN discovery over multicast-dns (no option of hyperswarm 2
// turns it off), and the test's namespaces are to carry only what the test
// asks for. The stub sends and answers nothing, so peers are found through the
// DHT alone. It is put in require's cache under the file that
// @hyperswarm/discovery would load, as found from hyperspace down
// (hyperspace → hyperswarm → @hyperswarm/network → @hyperswarm/discovery), so
// nothing in node_modules changes. Require it before hyperspace.
//
// stats.instances counts the stubs made; realLoaded() lists any other copy of
// multicast-dns that was loaded anyway (there must be none).
const Module = require('module')
const path = require('path')
const { EventEmitter } = require('events')

const stats = { instances: 0, file: null }

function dirOf (pkg, fromDir) {
  return path.dirname(require.resolve(pkg + '/package.json', { paths: [fromDir] }))
}

function inertMulticastDns () {
  stats.instances++
  const mdns = new EventEmitter()
  mdns.query = function () {}
  mdns.respond = mdns.response = function () {}
  mdns.update = function () {}
  mdns.destroy = function (cb) { if (cb) process.nextTick(cb) }
  return mdns
}

let dir = path.join(__dirname, '..')
for (const pkg of ['hyperspace', 'hyperswarm', '@hyperswarm/network', '@hyperswarm/discovery']) dir = dirOf(pkg, dir)
const file = require.resolve('multicast-dns', { paths: [dir] })
const m = new Module(file, null)
m.filename = file
m.paths = Module._nodeModulePaths(path.dirname(file))
m.exports = inertMulticastDns
m.loaded = true
require.cache[file] = m
stats.file = file

function realLoaded () {
  return Object.keys(require.cache).filter(f => f !== file && f.split(path.sep).includes('multicast-dns'))
}

module.exports = { stats, realLoaded }
