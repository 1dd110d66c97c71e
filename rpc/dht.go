package rpc

// The records of `hsp dht`, a DHT node run in the foreground: one
// DHTListening line, then one line per event as it happens. Ids and
// topics are 64 hex characters, addresses "host:port". rpc knows nothing
// of the DHT itself; commands/dht.go fills these from swarm/dht's events.

// DHTListening is the first line of `hsp dht`: where the node listens.
type DHTListening struct {
	// Type is "listening".
	Type string `json:"type"`
	// Host and Port are the UDP address the node is bound to (with
	// --port 0, the port the system chose).
	Host string `json:"host"`
	Port int    `json:"port"`
	// ID is the node id, sent to other nodes only when Persistent.
	ID string `json:"id"`
	// Persistent tells whether other nodes keep this one in their routing
	// tables and store announcements with it (unless --ephemeral).
	Persistent bool `json:"persistent"`
	// Bootstrap lists the nodes it joins the network through; empty, it
	// is a seed that others bootstrap from.
	Bootstrap []string `json:"bootstrap"`
}

// DHTTopicEvent is a `peers` request the node served: a peer announced,
// unannounced or looked up a topic.
type DHTTopicEvent struct {
	// Type is "announce", "unannounce" or "lookup".
	Type string `json:"type"`
	// Topic is the 32-byte topic (a discovery key, for hypercores).
	Topic string `json:"topic"`
	// From is the peer's address as recorded: its IP and the port it
	// announced (its UDP port, if it gave none).
	From string `json:"from"`
}

// DHTHolepunchEvent is a holepunch the node relayed between two peers.
type DHTHolepunchEvent struct {
	// Type is "holepunch".
	Type string `json:"type"`
	// From asked for the punch; To is the peer it was relayed to.
	From string `json:"from"`
	To   string `json:"to"`
}

// DHTNodesEvent is a change of the routing table: a node joined or left.
type DHTNodesEvent struct {
	// Type is "nodes".
	Type string `json:"type"`
	// Change is "joined" or "left".
	Change string `json:"change"`
	// NodeAddress and NodeID are the node that joined or left.
	NodeAddress string `json:"nodeAddress"`
	NodeID      string `json:"nodeId"`
	// Nodes is the routing table's size afterwards.
	Nodes int `json:"nodes"`
}

// DHTBootstrapped is a bootstrap walk that some node answered.
type DHTBootstrapped struct {
	// Type is "bootstrapped".
	Type string `json:"type"`
	// Nodes is the routing table's size after the walk.
	Nodes int `json:"nodes"`
	// Attempts counts the walks it took (1 unless no bootstrap node
	// answered at first).
	Attempts int `json:"attempts"`
}

// DHTDropped says that events were left out because the output could not
// keep up with them.
type DHTDropped struct {
	// Type is "dropped".
	Type string `json:"type"`
	// Events counts the events left out since the previous line.
	Events int `json:"events"`
}
