package rpc

// Event is something that happened to a core, as `hsp` streams it with
// --json: one JSON object per line, told apart by Type.
type Event struct {
	// Type is "append", "download", "upload", "peer-add" or "peer-remove".
	Type string `json:"type"`
	// Length and ByteLength are the core's size after an append.
	Length     uint64 `json:"length,omitempty"`
	ByteLength uint64 `json:"byteLength,omitempty"`
	// Index and Bytes name the block of a download or upload.
	Index uint64 `json:"index,omitempty"`
	Bytes uint64 `json:"bytes,omitempty"`
	// Peer is the peer of a peer-add or peer-remove.
	Peer *Peer `json:"peer,omitempty"`
}
