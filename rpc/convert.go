package rpc

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	capnp "capnproto.org/go/capnp/v3"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// One mapping per struct between the Go results and their Cap'n Proto form:
// writeX fills a schema struct from a Go value, readX reads one back. The
// round-trip test in convert_test.go fills every field by reflection, so a
// field added to a result without a mapping fails it.

// infoOf turns a loaded core's Info into the RPC's CoreInfo, with its part
// in the swarm when the core tells it (NetworkInfo).
func infoOf(i core.Info, name string, c LocalCore) CoreInfo {
	var n CoreNetwork
	if ni, ok := c.(interface{ NetworkInfo() CoreNetwork }); ok {
		n = ni.NetworkInfo()
	}
	return CoreInfo{
		Key: i.Key, DiscoveryKey: i.DiscoveryKey,
		Length: i.Length, ByteLength: i.ByteLength, Writable: i.Writable,
		Name: name, Downloaded: i.Downloaded, Loaded: true,
		Seeding: n.Seeding, Peers: n.Peers, UploadedBytes: n.UploadedBytes, DownloadedBytes: n.DownloadedBytes,
	}
}

func writeCoreInfo(out schema.CoreInfo, in CoreInfo) error {
	out.SetLength(in.Length)
	out.SetByteLength(in.ByteLength)
	out.SetWritable(in.Writable)
	out.SetDownloaded(in.Downloaded)
	out.SetLoaded(in.Loaded)
	out.SetSeeding(in.Seeding)
	out.SetPeers(in.Peers)
	out.SetUploadedBytes(in.UploadedBytes)
	out.SetDownloadedBytes(in.DownloadedBytes)
	return errors.Join(out.SetKey(in.Key[:]), out.SetDiscoveryKey(in.DiscoveryKey[:]), out.SetName(in.Name))
}

func readCoreInfo(in schema.CoreInfo) (CoreInfo, error) {
	var r fieldReader
	ci := CoreInfo{
		Key: readKey[core.Key](&r, "key", in.Key), DiscoveryKey: readKey[core.DiscoveryKey](&r, "discovery key", in.DiscoveryKey),
		Length: in.Length(), ByteLength: in.ByteLength(), Writable: in.Writable(),
		Name: r.text(in.Name), Downloaded: in.Downloaded(), Loaded: in.Loaded(),
		Seeding: in.Seeding(), Peers: in.Peers(), UploadedBytes: in.UploadedBytes(), DownloadedBytes: in.DownloadedBytes(),
	}
	return ci, r.done("core info")
}

func writeStatus(out schema.Status, in Status) error {
	out.SetProtocol(in.Protocol)
	out.SetUptimeMs(in.UptimeMs)
	out.SetPid(in.Pid)
	out.SetCoresStored(in.CoresStored)
	out.SetCoresLoaded(in.CoresLoaded)
	out.SetClients(in.Clients)
	net, err := out.NewNetwork()
	if err != nil {
		return err
	}
	return errors.Join(out.SetVersion(in.Version), out.SetHome(in.Home), out.SetStorage(in.Storage),
		out.SetSocket(in.Socket), writeNetworkStatus(net, in.Network), writeSettings(out.NewSettings, in.Settings))
}

// writeSettings writes a map as a list of key-value pairs, sorted by key.
func writeSettings(alloc func(int32) (schema.Setting_List, error), set map[string]string) error {
	if len(set) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(set))
	return writeList(alloc, keys, func(out schema.Setting, k string) error {
		return errors.Join(out.SetKey(k), out.SetValue(set[k]))
	})
}

func readSettings(in schema.Status) (map[string]string, error) {
	if !in.HasSettings() {
		return nil, nil
	}
	pairs, err := list(in.Settings, func(s schema.Setting) ([2]string, error) {
		var r fieldReader
		return [2]string{r.text(s.Key), r.text(s.Value)}, r.done("setting")
	})
	out := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		out[kv[0]] = kv[1]
	}
	return out, err
}

func readStatus(in schema.Status) (Status, error) {
	var r fieldReader
	st := Status{
		Version: r.text(in.Version), Home: r.text(in.Home), Storage: r.text(in.Storage), Socket: r.text(in.Socket),
		Protocol: in.Protocol(), UptimeMs: in.UptimeMs(), Pid: in.Pid(),
		CoresStored: in.CoresStored(), CoresLoaded: in.CoresLoaded(), Clients: in.Clients(),
	}
	if net, err := in.Network(); err != nil {
		r.fail(err)
	} else if st.Network, err = readNetworkStatus(net); err != nil {
		r.fail(err)
	}
	var err error
	st.Settings, err = readSettings(in)
	r.fail(err)
	return st, r.done("status")
}

func writeNetworkStatus(out schema.NetworkStatus, in NetworkStatus) error {
	out.SetAvailable(in.Available)
	out.SetPort(in.Port)
	out.SetPeers(in.Peers)
	out.SetTopics(in.Topics)
	out.SetUploadedBytes(in.UploadedBytes)
	out.SetDownloadedBytes(in.DownloadedBytes)
	out.SetHolepunchable(in.Holepunchable)
	dht, err := out.NewDht()
	return errors.Join(writeOptionalKey(in.PublicKey, out.SetPublicKey), out.SetHost(in.Host),
		writeCounts(out.NewDisconnects, in.Disconnects), out.SetError(in.Error), err, writeDHTStatus(dht, in.DHT),
		writeCounts(out.NewConnections, in.Connections), writeList(out.NewJoined, in.Joined, writeTopicStatus),
		out.SetRemoteAddress(in.RemoteAddress), out.SetRemoteAddressFrom(in.RemoteAddressFrom),
		out.SetHolepunchableFrom(in.HolepunchableFrom), writeList(out.NewStun, in.STUN, writeSTUNAnswer))
}

func writeSTUNAnswer(out schema.StunAnswer, in STUNAnswer) error {
	return errors.Join(out.SetServer(in.Server), out.SetAddress(in.Address), out.SetError(in.Error))
}

func readSTUNAnswer(in schema.StunAnswer) (STUNAnswer, error) {
	var r fieldReader
	a := STUNAnswer{Server: r.text(in.Server), Address: r.text(in.Address), Error: r.text(in.Error)}
	return a, r.done("stun answer")
}

func writeDHTStatus(out schema.DhtStatus, in DHTStatus) error {
	out.SetRunning(in.Running)
	out.SetNodes(in.Nodes)
	out.SetBootstrapped(in.Bootstrapped)
	out.SetPersistent(in.Persistent)
	return errors.Join(writeTexts(out.NewBootstrap, in.Bootstrap), out.SetError(in.Error))
}

func readDHTStatus(in schema.DhtStatus) (DHTStatus, error) {
	var r fieldReader
	st := DHTStatus{Running: in.Running(), Nodes: in.Nodes(), Bootstrapped: in.Bootstrapped(),
		Persistent: in.Persistent(), Error: r.text(in.Error)}
	var err error
	if in.HasBootstrap() {
		st.Bootstrap, err = readTexts(in.Bootstrap)
		r.fail(err)
	}
	return st, r.done("dht status")
}

func readNetworkStatus(in schema.NetworkStatus) (NetworkStatus, error) {
	var r fieldReader
	ns := NetworkStatus{
		Available: in.Available(), PublicKey: readOptionalKey[core.Key](&r, "public key", in.PublicKey),
		Port: in.Port(), Peers: in.Peers(), Topics: in.Topics(), Host: r.text(in.Host), Error: r.text(in.Error),
		UploadedBytes: in.UploadedBytes(), DownloadedBytes: in.DownloadedBytes(),
		RemoteAddress: r.text(in.RemoteAddress), RemoteAddressFrom: r.text(in.RemoteAddressFrom),
		Holepunchable: in.Holepunchable(), HolepunchableFrom: r.text(in.HolepunchableFrom),
	}
	var err error
	if in.HasStun() {
		ns.STUN, err = list(in.Stun, readSTUNAnswer)
		r.fail(err)
	}
	if in.HasDisconnects() {
		ns.Disconnects, err = readCounts(in.Disconnects)
		r.fail(err)
	}
	if in.HasConnections() {
		ns.Connections, err = readCounts(in.Connections)
		r.fail(err)
	}
	if in.HasJoined() {
		ns.Joined, err = list(in.Joined, readTopicStatus)
		r.fail(err)
	}
	if in.HasDht() {
		dht, err := in.Dht()
		r.fail(err)
		if err == nil {
			ns.DHT, err = readDHTStatus(dht)
			r.fail(err)
		}
	}
	return ns, r.done("network status")
}

// writeCounts writes a map of counts as a list sorted by key.
func writeCounts(alloc func(int32) (schema.Count_List, error), counts map[string]uint64) error {
	if len(counts) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(counts))
	return writeList(alloc, keys, func(out schema.Count, k string) error {
		out.SetCount(counts[k])
		return out.SetKey(k)
	})
}

func readCounts(get func() (schema.Count_List, error)) (map[string]uint64, error) {
	type kv struct {
		k string
		n uint64
	}
	pairs, err := list(get, func(c schema.Count) (kv, error) {
		var r fieldReader
		return kv{r.text(c.Key), c.Count()}, r.done("count")
	})
	out := make(map[string]uint64, len(pairs))
	for _, p := range pairs {
		out[p.k] = p.n
	}
	return out, err
}

func writePeer(out schema.Peer, in Peer) error {
	out.SetUploadedBytes(in.UploadedBytes)
	out.SetDownloadedBytes(in.DownloadedBytes)
	out.SetInitiator(in.Initiator)
	dks, err := out.NewDiscoveryKeys(int32(len(in.DiscoveryKeys)))
	if err != nil {
		return err
	}
	for i, dk := range in.DiscoveryKeys {
		if err := dks.Set(i, dk[:]); err != nil {
			return err
		}
	}
	return errors.Join(out.SetRemotePublicKey(in.RemotePublicKey[:]), out.SetRemoteAddress(in.RemoteAddress), out.SetType(in.Type))
}

func readPeer(in schema.Peer) (Peer, error) {
	var r fieldReader
	p := Peer{
		RemotePublicKey: readKey[core.Key](&r, "remote public key", in.RemotePublicKey),
		RemoteAddress:   r.text(in.RemoteAddress), Type: r.text(in.Type), Initiator: in.Initiator(),
		UploadedBytes: in.UploadedBytes(), DownloadedBytes: in.DownloadedBytes(),
		DiscoveryKeys: []core.DiscoveryKey{},
	}
	dks, err := in.DiscoveryKeys()
	r.fail(err)
	for i := range dks.Len() {
		p.DiscoveryKeys = append(p.DiscoveryKeys, readKey[core.DiscoveryKey](&r, "discovery key", func() ([]byte, error) { return dks.At(i) }))
	}
	return p, r.done("peer")
}

func writeDownloadProgress(out schema.DownloadProgress, in DownloadProgress) error {
	out.SetStart(in.Start)
	out.SetEnd(in.End)
	out.SetLive(in.Live)
	out.SetHave(in.Have)
	out.SetDownloadedBlocks(in.DownloadedBlocks)
	out.SetDownloadedBytes(in.DownloadedBytes)
	out.SetPeers(in.Peers)
	out.SetKnown(in.Known)
	out.SetRefused(in.Refused)
	out.SetRemoteLength(in.RemoteLength)
	out.SetConnections(in.Connections)
	out.SetDone(in.Done)
	out.SetLookups(in.Lookups)
	out.SetFound(in.Found)
	out.SetUnreachable(in.Unreachable)
	return out.SetDialError(in.DialError)
}

func readDownloadProgress(in schema.DownloadProgress) (DownloadProgress, error) {
	var r fieldReader
	p := DownloadProgress{
		Start: in.Start(), End: in.End(), Live: in.Live(), Have: in.Have(),
		DownloadedBlocks: in.DownloadedBlocks(), DownloadedBytes: in.DownloadedBytes(),
		Peers: in.Peers(), Known: in.Known(), Refused: in.Refused(),
		RemoteLength: in.RemoteLength(), Connections: in.Connections(), Done: in.Done(),
		Lookups: in.Lookups(), Found: in.Found(), Unreachable: in.Unreachable(), DialError: r.text(in.DialError),
	}
	return p, r.done("download progress")
}

func writeTopicStatus(out schema.TopicStatus, in TopicStatus) error {
	out.SetAnnounce(in.Announce)
	out.SetLookup(in.Lookup)
	out.SetRounds(in.Rounds)
	out.SetFound(in.Found)
	out.SetRemember(in.Remember)
	return out.SetDiscoveryKey(in.DiscoveryKey[:])
}

func readTopicStatus(in schema.TopicStatus) (TopicStatus, error) {
	var r fieldReader
	ts := TopicStatus{
		DiscoveryKey: readKey[core.DiscoveryKey](&r, "discovery key", in.DiscoveryKey),
		Announce:     in.Announce(), Lookup: in.Lookup(), Rounds: in.Rounds(), Found: in.Found(),
		Remember: in.Remember(),
	}
	return ts, r.done("topic status")
}

// fieldReader reads the pointer fields of one struct, keeping the first
// error, so a reader lists fields instead of checking each.
type fieldReader struct{ err error }

func (r *fieldReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *fieldReader) text(get func() (string, error)) string {
	s, err := get()
	r.fail(err)
	return s
}

func (r *fieldReader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("read %s: %w", what, r.err)
	}
	return nil
}

// readKey reads a 32-byte key that must be present.
func readKey[K ~[32]byte](r *fieldReader, what string, get func() ([]byte, error)) K {
	var k K
	b, err := get()
	switch {
	case err != nil:
		r.fail(err)
	case len(b) != len(k):
		r.fail(fmt.Errorf("%s of %d bytes, want %d: %w", what, len(b), len(k), ErrBadRequest))
	}
	copy(k[:], b)
	return k
}

// readOptionalKey reads a key that may be absent: then it is zero.
func readOptionalKey[K ~[32]byte](r *fieldReader, what string, get func() ([]byte, error)) K {
	if b, err := get(); err == nil && len(b) == 0 {
		var zero K
		return zero
	}
	return readKey[K](r, what, get)
}

// writeOptionalKey writes a key unless it is zero.
func writeOptionalKey[K ~[32]byte](k K, set func([]byte) error) error {
	if k == (K{}) {
		return nil
	}
	return set(k[:])
}

// fillDataList copies blocks into a list made for them.
func fillDataList(list capnp.DataList, blocks [][]byte) error {
	for i, b := range blocks {
		if err := list.Set(i, b); err != nil {
			return err
		}
	}
	return nil
}

func writeNode(out schema.Node, in core.Node) error {
	out.SetIndex(in.Index)
	out.SetSize(in.Size)
	return out.SetHash(in.Hash[:])
}

func readNode(in schema.Node) (core.Node, error) {
	var r fieldReader
	n := core.Node{Index: in.Index(), Size: in.Size(), Hash: readKey[[32]byte](&r, "node hash", in.Hash)}
	return n, r.done("node")
}

// writeList fills a new list of len(items) with the mapping of its type.
func writeList[S ~capnp.StructKind, T any](alloc func(int32) (capnp.StructList[S], error), items []T, write func(S, T) error) error {
	l, err := alloc(int32(len(items)))
	if err != nil {
		return err
	}
	for i, it := range items {
		if err := write(l.At(i), it); err != nil {
			return err
		}
	}
	return nil
}

// writeTexts fills a new text list with items.
func writeTexts(alloc func(int32) (capnp.TextList, error), items []string) error {
	l, err := alloc(int32(len(items)))
	if err != nil {
		return err
	}
	for i, s := range items {
		if err := l.Set(i, s); err != nil {
			return err
		}
	}
	return nil
}

func readTexts(get func() (capnp.TextList, error)) ([]string, error) {
	l, err := get()
	if err != nil {
		return nil, err
	}
	out := make([]string, l.Len())
	for i := range out {
		if out[i], err = l.At(i); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return out, nil
}
