package rpc

import "github.com/hspd/hsp/core"

// Results of the CLI's commands. Each is rendered as text and, under
// --json, marshalled unchanged; docs/json.md is the contract.

// CreateResult is what `hsp create` prints.
type CreateResult struct {
	// Key is the new core's public key (hex in JSON).
	Key core.Key `json:"key"`
	// DiscoveryKey is its swarm topic.
	DiscoveryKey core.DiscoveryKey `json:"discoveryKey"`
	// Name is the name it was created under, if any.
	Name string `json:"name,omitempty"`
	// Writable is always true for a created core.
	Writable bool `json:"writable"`
}

// AppendResult is what `hsp append` prints.
type AppendResult struct {
	// Key is the core appended to.
	Key core.Key `json:"key"`
	// Appended counts the blocks this command added.
	Appended uint64 `json:"appended"`
	// Length and ByteLength are the core's size afterwards.
	Length     uint64 `json:"length"`
	ByteLength uint64 `json:"byteLength"`
}

// BlockRecord is one line of `hsp cat --json`.
type BlockRecord struct {
	// Type is always "block".
	Type string `json:"type"`
	// Index is the block's position in the core.
	Index uint64 `json:"index"`
	// Data is the block's bytes (base64 in JSON).
	Data []byte `json:"data"`
}

// CoreList is what `hsp ls` and `hsp info` print.
type CoreList struct {
	Cores []CoreInfo `json:"cores"`
}

// DeleteResult is what `hsp rm` prints.
type DeleteResult struct {
	// Key is the deleted core.
	Key core.Key `json:"key"`
	// Deleted is true once its data is gone.
	Deleted bool `json:"deleted"`
}

// SeedList is what `hsp seed` and `hsp unseed` print: each core given,
// in order, with whether it is seeded now.
type SeedList struct {
	Cores []SeedResult `json:"cores"`
}

// SeedResult is one core `hsp seed` or `hsp unseed` was given.
type SeedResult struct {
	Key          core.Key          `json:"key"`
	DiscoveryKey core.DiscoveryKey `json:"discoveryKey"`
	// Seeding is true after hsp seed, false after hsp unseed.
	Seeding bool `json:"seeding"`
}

// DaemonResult is what `hsp daemon start` and `hsp daemon stop` print.
type DaemonResult struct {
	// Running tells whether a daemon runs on the home afterwards.
	Running bool `json:"running"`
	// Started is true when this command started it; Stopped when it
	// stopped it.
	Started bool `json:"started,omitempty"`
	Stopped bool `json:"stopped,omitempty"`
	// Home and Socket locate the daemon.
	Home   string `json:"home"`
	Socket string `json:"socket"`
	// Pid is the running daemon's process id.
	Pid uint32 `json:"pid,omitempty"`
}

// ErrorResult is the one JSON object a failing command writes on stderr
// under --json.
type ErrorResult struct {
	// Type is always "error".
	Type string `json:"type"`
	// Error is the message a person would read.
	Error string `json:"error"`
	// Code names the kind of error (not-found, daemon-unreachable, …).
	Code string `json:"code"`
	// ExitCode is the process's exit status.
	ExitCode int `json:"exitCode"`
}

// ConfigEntry is one setting of the home's config file: what `hsp config
// get` prints, and each entry of `hsp config list`.
type ConfigEntry struct {
	// Key names the setting; Value is its value, "" when not set.
	Key   string `json:"key"`
	Value string `json:"value"`
	// Set tells whether the config file sets it (else the default holds).
	Set bool `json:"set"`
	// About says what the setting does.
	About string `json:"about,omitempty"`
}

// ConfigList is what `hsp config list` prints: every setting.
type ConfigList struct {
	Settings []ConfigEntry `json:"settings"`
}

// ConfigChange is what `hsp config set` and `hsp config unset` print.
type ConfigChange struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Unset is true when the key was removed from the file.
	Unset bool `json:"unset,omitempty"`
	// RestartNeeded is true when a daemon runs with another value: it
	// keeps that one until it is stopped and started again.
	RestartNeeded bool `json:"restartNeeded"`
}

// ReplicateProgress is a progress line of `hsp replicate --json`, written
// about twice a second: where the download is, and for how long it ran.
type ReplicateProgress struct {
	// Type is "progress".
	Type string   `json:"type"`
	Key  core.Key `json:"key"`
	DownloadProgress
	ElapsedMs uint64 `json:"elapsedMs"`
}

// ReplicateDone is the last line of `hsp replicate --json` (and, as text,
// its one line of output): every block of [Start, End) is verified and
// synced, or, after --live, the download was interrupted.
type ReplicateDone struct {
	// Type is "done".
	Type  string   `json:"type"`
	Key   core.Key `json:"key"`
	Start uint64   `json:"start"`
	End   uint64   `json:"end"`
	// Have counts the blocks of the range stored; DownloadedBlocks and
	// DownloadedBytes what this run fetched from peers.
	Have             uint64 `json:"have"`
	DownloadedBlocks uint64 `json:"downloadedBlocks"`
	DownloadedBytes  uint64 `json:"downloadedBytes"`
	Peers            uint32 `json:"peers"`
	ElapsedMs        uint64 `json:"elapsedMs"`
}

// ServiceResult is what `hsp daemon install-service` did.
type ServiceResult struct {
	// Path is the systemd user unit's file.
	Path string `json:"path"`
	// Written is false when an equal unit was there already.
	Written bool `json:"written"`
}
