package rpc

import "github.com/hspd/hsp/core"

// Status is what `hsp status` reports about a running daemon.
type Status struct {
	// Version is the daemon's hsp release.
	Version string `json:"version"`
	// Protocol is the daemon's RPC protocol number.
	Protocol uint32 `json:"protocol"`
	// UptimeMs is how long the daemon has run, in milliseconds.
	UptimeMs uint64 `json:"uptimeMs"`
	// Pid is the daemon's process id.
	Pid uint32 `json:"pid"`
	// Home is the directory that holds the daemon's data, lock and log.
	Home string `json:"home"`
	// Storage is the database directory.
	Storage string `json:"storage"`
	// Socket is the unix socket the daemon listens on.
	Socket string `json:"socket"`
	// CoresStored counts the cores in the store; CoresLoaded those open now.
	CoresStored uint64 `json:"coresStored"`
	CoresLoaded uint64 `json:"coresLoaded"`
	// Clients counts the connected RPC clients, this one included.
	Clients uint32 `json:"clients"`
	// Network describes the swarm; Available is false until networking lands.
	Network NetworkStatus `json:"network"`
	// Settings are the settings the daemon was started with, from the
	// home's config file and its flags (`hsp config`); absent ones are at
	// their defaults.
	Settings map[string]string `json:"settings,omitempty"`
}

// NetworkStatus describes the daemon's place in the swarm.
type NetworkStatus struct {
	// Available is false while the daemon has no networking.
	Available bool `json:"available"`
	// PublicKey is the daemon's Noise static key; absent without a network.
	PublicKey core.Key `json:"publicKey,omitzero"`
	// Port is the swarm's UDP and TCP port.
	Port uint16 `json:"port,omitempty"`
	// Host is the address the swarm listens on; "" is every interface.
	Host string `json:"host,omitempty"`
	// Peers counts connected peers; Topics the joined discovery keys.
	Peers  uint32 `json:"peers"`
	Topics uint32 `json:"topics"`
	// UploadedBytes and DownloadedBytes count the verified block bytes
	// sent to and received from peers since the daemon started.
	UploadedBytes   uint64 `json:"uploadedBytes"`
	DownloadedBytes uint64 `json:"downloadedBytes"`
	// Disconnects counts the peers cut off for misbehaving, by reason.
	Disconnects map[string]uint64 `json:"disconnects,omitempty"`
	// Error tells why the swarm is not available when it tried to start
	// and could not (its port taken, say).
	Error string `json:"error,omitempty"`
	// DHT is the DHT node that finds peers, on the UDP side of Port.
	DHT DHTStatus `json:"dht"`
	// Connections counts the connected peers by transport ("tcp", "utp").
	Connections map[string]uint64 `json:"connections,omitempty"`
	// Joined lists the topics joined on the DHT, with the peers found.
	Joined []TopicStatus `json:"joined,omitempty"`
	// RemoteAddress is our ip:port as seen from outside; RemoteAddressFrom
	// says how it was learnt: "dht" (what the DHT's nodes saw) or "stun".
	RemoteAddress     string `json:"remoteAddress,omitempty"`
	RemoteAddressFrom string `json:"remoteAddressFrom,omitempty"`
	// Holepunchable is true when our NAT maps our port the same towards
	// every host, so a holepunch can reach us; HolepunchableFrom says who
	// told: "dht" (3 or more DHT nodes agree) or "stun" (2 or more STUN
	// servers saw the same address).
	Holepunchable     bool   `json:"holepunchable"`
	HolepunchableFrom string `json:"holepunchableFrom,omitempty"`
	// STUN lists the answer of each STUN server configured (--stun).
	STUN []STUNAnswer `json:"stun,omitempty"`
}

// STUNAnswer is what one STUN server told.
type STUNAnswer struct {
	// Server is the server's HOST:PORT, as configured.
	Server string `json:"server"`
	// Address is the address it saw us at; Error why there is none.
	Address string `json:"address,omitempty"`
	Error   string `json:"error,omitempty"`
}

// DHTStatus describes the daemon's Hyperswarm DHT node.
type DHTStatus struct {
	// Running is true once the node runs; it starts with the swarm.
	Running bool `json:"running"`
	// Nodes is the routing table's size.
	Nodes uint32 `json:"nodes"`
	// Bootstrapped is true once a bootstrap node answered (at once with
	// an empty list: the node is then a seed of its own network).
	Bootstrapped bool `json:"bootstrapped"`
	// Bootstrap is the bootstrap list the daemon was given.
	Bootstrap []string `json:"bootstrap"`
	// Persistent is true when other nodes keep this one in their tables
	// (the daemon's node is ephemeral, as Hyperspace's).
	Persistent bool `json:"persistent"`
	// Error says why the node is not part of a DHT, when it is not.
	Error string `json:"error,omitempty"`
}

// CoreInfo describes one core.
type CoreInfo struct {
	// Key is the core's public key (hex in JSON).
	Key core.Key `json:"key"`
	// DiscoveryKey is the core's swarm topic.
	DiscoveryKey core.DiscoveryKey `json:"discoveryKey"`
	// Length is the number of blocks; ByteLength their total size.
	Length     uint64 `json:"length"`
	ByteLength uint64 `json:"byteLength"`
	// Writable is true when this daemon can append to the core.
	Writable bool `json:"writable"`
	// Name is the name of a named writable core, else empty.
	Name string `json:"name,omitempty"`
	// Downloaded counts the blocks stored locally.
	Downloaded uint64 `json:"downloaded"`
	// Loaded is true while the core is open in the daemon.
	Loaded bool `json:"loaded"`
	// Seeding is true when the daemon seeds the core (hsp seed): it
	// announces it, looks it up and downloads all of it, across restarts.
	Seeding bool `json:"seeding"`
	// Peers counts the peers replicating the core now.
	Peers uint32 `json:"peers"`
	// UploadedBytes and DownloadedBytes count the verified block bytes
	// sent to and received from peers for this core while it was loaded.
	UploadedBytes   uint64 `json:"uploadedBytes"`
	DownloadedBytes uint64 `json:"downloadedBytes"`
}

// CoreNetwork is a core's part in the swarm, as CoreInfo shows it.
type CoreNetwork struct {
	Seeding                        bool
	Peers                          uint32
	UploadedBytes, DownloadedBytes uint64
}

// TopicStatus is the swarm configuration of one discovery key.
type TopicStatus struct {
	// DiscoveryKey is the topic.
	DiscoveryKey core.DiscoveryKey `json:"discoveryKey"`
	// Announce and Lookup say whether the daemon announces itself on the
	// topic and looks for peers on it.
	Announce bool `json:"announce"`
	Lookup   bool `json:"lookup"`
	// Rounds counts the announce or lookup rounds that finished; Found
	// the peers they found (each address once a round).
	Rounds uint32 `json:"rounds"`
	Found  uint32 `json:"found"`
	// Remember is true when the configuration is remembered: the daemon
	// joins the topic again at every start.
	Remember bool `json:"remember"`
}

// Peer is a connected peer.
type Peer struct {
	// RemotePublicKey is the peer's Noise static key.
	RemotePublicKey core.Key `json:"remotePublicKey"`
	// RemoteAddress is the peer's HOST:PORT.
	RemoteAddress string `json:"remoteAddress"`
	// Type is how the connection runs: "tcp" or "utp".
	Type string `json:"type"`
	// Initiator is set when the daemon dialled the peer.
	Initiator bool `json:"initiator"`
	// UploadedBytes and DownloadedBytes count the verified block bytes
	// sent to and received from the peer.
	UploadedBytes   uint64 `json:"uploadedBytes"`
	DownloadedBytes uint64 `json:"downloadedBytes"`
	// DiscoveryKeys are the cores replicating with the peer.
	DiscoveryKeys []core.DiscoveryKey `json:"discoveryKeys"`
}

// PeerList is what `hsp peers` shows: the connected peers and the peers
// cut off since the daemon started, counted by reason.
type PeerList struct {
	Peers       []Peer            `json:"peers"`
	Disconnects map[string]uint64 `json:"disconnects"`
}

// DownloadProgress tells how far a download is.
type DownloadProgress struct {
	// Start and End are the range; End is 0 while a download to the
	// peers' length waits for a peer to say its length, and with Live.
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
	Live  bool   `json:"live,omitempty"`
	// Have counts the blocks of the range stored: verified and synced.
	Have uint64 `json:"have"`
	// DownloadedBlocks and DownloadedBytes are what this download fetched.
	DownloadedBlocks uint64 `json:"downloadedBlocks"`
	DownloadedBytes  uint64 `json:"downloadedBytes"`
	// Peers replicate the core; Known of them told what they have;
	// Refused counts connected peers that do not have the core.
	Peers   uint32 `json:"peers"`
	Known   uint32 `json:"known"`
	Refused uint32 `json:"refused"`
	// RemoteLength is the longest length a peer announced.
	RemoteLength uint64 `json:"remoteLength"`
	// Connections counts the daemon's connected peers, whatever they
	// replicate.
	Connections uint32 `json:"connections"`
	// Done is set once every block of the range is stored.
	Done bool `json:"done"`
	// Lookups and Found, for a download that discovers its peers: the
	// lookups of the core's topic that finished, and the peers found.
	Lookups uint32 `json:"lookups,omitempty"`
	Found   uint32 `json:"found,omitempty"`
	// Unreachable counts the peers found whose every dial failed (never
	// connected); DialError is the last such failure, as the daemon saw
	// it (the direct dial's and the holepunch's).
	Unreachable uint32 `json:"unreachable,omitempty"`
	DialError   string `json:"dialError,omitempty"`
}
