# The hsp daemon's RPC interface. A client dials the daemon's unix socket,
# takes the bootstrap Daemon capability and calls hello before anything else.
@0xe87dc593c8f2e695;

using Go = import "/go.capnp";
$Go.package("schema");
$Go.import("github.com/hspd/hsp/rpc/schema");

interface Daemon {
  # hello exchanges versions. The protocol number changes only when an old
  # client can no longer talk to a new daemon (or the reverse).
  hello @0 (version :Text, protocol :UInt32) -> (version :Text, protocol :UInt32);
  status @1 () -> (status :Status);
  # stop shuts the daemon down cleanly; it answers before it goes.
  stop @2 () -> ();
  corestore @3 () -> (corestore :Corestore);
  network @4 () -> (network :Network);
}

struct Status {
  version @0 :Text;
  protocol @1 :UInt32;
  uptimeMs @2 :UInt64;
  pid @3 :UInt32;
  home @4 :Text;
  storage @5 :Text;
  socket @6 :Text;
  coresStored @7 :UInt64;
  coresLoaded @8 :UInt64;
  clients @9 :UInt32;
  network @10 :NetworkStatus;
  # settings the daemon was started with (config file and flags), by key
  settings @11 :List(Setting);
}

struct Setting {
  key @0 :Text;
  value @1 :Text;
}

struct NetworkStatus {
  available @0 :Bool;
  publicKey @1 :Data;
  port @2 :UInt16;
  peers @3 :UInt32;
  topics @4 :UInt32;
  # the host the swarm listens on ("" for every interface)
  host @5 :Text;
  # verified block bytes sent to and received from peers since the start
  uploadedBytes @6 :UInt64;
  downloadedBytes @7 :UInt64;
  # peers cut off, by reason
  disconnects @8 :List(Count);
  # why the swarm is not available, when it tried to start and could not
  error @9 :Text;
  dht @10 :DhtStatus;
  # connected peers by transport ("tcp", "utp")
  connections @11 :List(Count);
  # the joined topics
  joined @12 :List(TopicStatus);
  # our address as seen from outside, and how it was learnt ("dht", "stun")
  remoteAddress @13 :Text;
  remoteAddressFrom @14 :Text;
  # our NAT maps consistently, so holepunches can work; and how we know
  holepunchable @15 :Bool;
  holepunchableFrom @16 :Text;
  # each configured STUN server's answer
  stun @17 :List(StunAnswer);
}

struct StunAnswer {
  server @0 :Text;
  # the mapped address it saw, or why there is none
  address @1 :Text;
  error @2 :Text;
}

# The daemon's Hyperswarm DHT node, on the UDP side of the swarm's port.
struct DhtStatus {
  # the node runs (it starts with the swarm)
  running @0 :Bool;
  # routing-table size
  nodes @1 :UInt32;
  # a bootstrap node answered (or the list is empty: the node is a seed)
  bootstrapped @2 :Bool;
  # the bootstrap list, as configured
  bootstrap @3 :List(Text);
  persistent @4 :Bool;
  # why the node is not part of a DHT ("no bootstrap node answered")
  error @5 :Text;
}

struct Count {
  key @0 :Text;
  count @1 :UInt64;
}

struct CoreInfo {
  key @0 :Data;
  discoveryKey @1 :Data;
  length @2 :UInt64;
  byteLength @3 :UInt64;
  writable @4 :Bool;
  name @5 :Text;
  downloaded @6 :UInt64;
  loaded @7 :Bool;
  # the daemon seeds the core (hsp seed): announced, looked up, downloaded
  seeding @8 :Bool;
  # peers replicating it now; verified block bytes sent and received
  peers @9 :UInt32;
  uploadedBytes @10 :UInt64;
  downloadedBytes @11 :UInt64;
}

interface Corestore {
  # open returns a core by key, by name (created on first use, writable) or
  # new (a fresh random writable core). Exactly one of the three is set.
  # With existing, a key the store does not hold is an error instead of
  # being recorded.
  open @0 (key :Data, name :Text, new :Bool, existing :Bool) -> (core :Core, info :CoreInfo);
  list @1 () -> (cores :List(CoreInfo));
  # delete removes a core's data for good.
  delete @2 (key :Data) -> ();
}

struct Node {
  index @0 :UInt64;
  hash @1 :Data;
  size @2 :UInt64;
}

interface Core {
  append @0 (blocks :List(Data)) -> (length :UInt64, byteLength :UInt64);
  # get waits for a missing block unless noWait; timeoutMs 0 waits until
  # the call is cancelled.
  get @1 (index :UInt64, noWait :Bool, timeoutMs :UInt64) -> (block :Data);
  update @2 (minLength :UInt64) -> (length :UInt64, byteLength :UInt64);
  seek @3 (byteOffset :UInt64) -> (index :UInt64, offset :UInt64);
  has @4 (index :UInt64) -> (has :Bool);
  downloaded @5 (start :UInt64, end :UInt64) -> (count :UInt64);
  # download asks for [start, end) (end 0 with live: everything, for good;
  # with toPeers, end is the longest length a peer announces when the
  # download starts). Release the Download, or call cancel, to undownload.
  # With discover, the daemon also looks the core's topic up on the DHT and
  # dials the peers found, until the download ends.
  download @6 (start :UInt64, end :UInt64, live :Bool, toPeers :Bool, discover :Bool) -> (download :Download);
  # read streams blocks [start, end) (live: and every later one) through
  # the cursor, many blocks per call.
  read @7 (start :UInt64, end :UInt64, live :Bool) -> (cursor :Cursor);
  info @8 () -> (info :CoreInfo);
  signature @9 (index :UInt64) -> (length :UInt64, signature :Data);
  rootHashes @10 (index :UInt64) -> (roots :List(Node));
  audit @11 () -> (blocks :UInt64, nodes :UInt64, signature :Bool);
  # subscribe pushes the core's events to sink until the subscription is
  # released. Events of one subscription arrive in order, in batches.
  subscribe @12 (sink :EventSink) -> (subscription :Subscription);
  registerExtension @13 (name :Text, handler :ExtensionHandler) -> (extension :Extension);
  close @14 () -> ();
  # appendPart carries one part of an append too large to hash after it
  # arrives: the daemon hashes each part while the next is on its way. The
  # parts of one append go on one capability, in order, pipelined, the
  # first with first set; the one with last set commits them all under one
  # signature, as one append of all their blocks would. Every part answers
  # that append's lengths, or its error; once one part failed, the parts
  # after it up to the next first are refused, so nothing of a failed
  # append is stored. The parts together obey append's limits.
  appendPart @15 (blocks :List(Data), first :Bool, last :Bool) -> (length :UInt64, byteLength :UInt64);
}

interface Download {
  # wait returns once every block of the range is here.
  wait @0 () -> ();
  cancel @1 () -> ();
  progress @2 () -> (progress :DownloadProgress);
}

struct DownloadProgress {
  start @0 :UInt64;
  # end of the range; 0 while a toPeers download waits for a peer's length
  end @1 :UInt64;
  live @2 :Bool;
  # blocks of the range stored (verified and synced)
  have @3 :UInt64;
  # what this download fetched so far
  downloadedBlocks @4 :UInt64;
  downloadedBytes @5 :UInt64;
  # peers replicating the core; of them, those that told what they have;
  # connected peers that refused the core
  peers @6 :UInt32;
  known @7 :UInt32;
  refused @8 :UInt32;
  # the longest length a peer announced
  remoteLength @9 :UInt64;
  # connected peers, whatever they replicate
  connections @10 :UInt32;
  done @11 :Bool;
  # with discover: the lookups of the core's topic that finished, and the
  # peers they found
  lookups @12 :UInt32;
  found @13 :UInt32;
  # with discover: the peers found whose every dial failed, and the last
  # such failure
  unreachable @14 :UInt32;
  dialError @15 :Text;
}

interface Cursor {
  # next returns up to maxBlocks blocks, and at most maxBytes bytes unless
  # a single block is larger. done is set after the last block of the range.
  next @0 (maxBlocks :UInt32, maxBytes :UInt32) -> (start :UInt64, blocks :List(Data), done :Bool);
}

interface Subscription {}

struct Event {
  union {
    append :group {
      length @0 :UInt64;
      byteLength @1 :UInt64;
    }
    download :group {
      index @2 :UInt64;
      bytes @3 :UInt64;
    }
    upload :group {
      uploadIndex @4 :UInt64;
      uploadBytes @5 :UInt64;
    }
    peerAdd @6 :Peer;
    peerRemove @7 :Peer;
  }
}

struct Peer {
  remotePublicKey @0 :Data;
  remoteAddress @1 :Text;
  type @2 :Text;
  # verified block bytes sent to and received from this peer
  uploadedBytes @3 :UInt64;
  downloadedBytes @4 :UInt64;
  # the discovery keys of the cores replicating with this peer
  discoveryKeys @5 :List(Data);
  # we dialled it
  initiator @6 :Bool;
}

interface EventSink {
  events @0 (events :List(Event)) -> stream;
}

interface Extension {
  # send sends to one peer (by its public key) or, with no peer, to all.
  send @0 (data :Data, peer :Data) -> (peers :UInt32);
}

interface ExtensionHandler {
  message @0 (peer :Data, data :Data) -> stream;
}

interface Network {
  configure @0 (discoveryKey :Data, announce :Bool, lookup :Bool, flush :Bool, remember :Bool) -> ();
  status @1 (discoveryKey :Data) -> (announce :Bool, lookup :Bool, rounds :UInt32, found :UInt32, remember :Bool);
  allStatuses @2 () -> (statuses :List(TopicStatus));
  peers @3 () -> (peers :List(Peer), disconnects :List(Count));
  # connect dials a replication peer at HOST:PORT and answers once the
  # connection is up. The daemon keeps it, dialling again with backoff
  # when it drops, until the Connection is released or closed.
  connect @4 (address :Text) -> (peer :Peer, connection :Connection);
  # seed announces and looks the core up, remembered, and downloads all of
  # it, live, across restarts; unseed leaves and forgets (the data stays).
  seed @5 (key :Data) -> ();
  unseed @6 (key :Data) -> ();
}

interface Connection {
  close @0 () -> ();
}

struct TopicStatus {
  discoveryKey @0 :Data;
  announce @1 :Bool;
  lookup @2 :Bool;
  # the announce or lookup rounds that finished, and the peers they found
  rounds @3 :UInt32;
  found @4 :UInt32;
  # the configuration is remembered across restarts
  remember @5 :Bool;
}
