package rpc

import (
	"encoding/hex"

	capnp "capnproto.org/go/capnp/v3"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// infoOf turns a core's Info into the RPC's CoreInfo.
func infoOf(i core.Info, name string, loaded bool) CoreInfo {
	return CoreInfo{
		Key: i.Key.String(), DiscoveryKey: i.DiscoveryKey.String(),
		Length: i.Length, ByteLength: i.ByteLength, Writable: i.Writable,
		Name: name, Downloaded: i.Downloaded, Loaded: loaded,
	}
}

func writeCoreInfo(out schema.CoreInfo, in CoreInfo) error {
	k, err := hex.DecodeString(in.Key)
	if err != nil {
		return err
	}
	dk, err := hex.DecodeString(in.DiscoveryKey)
	if err != nil {
		return err
	}
	if err := out.SetKey(k); err != nil {
		return err
	}
	if err := out.SetDiscoveryKey(dk); err != nil {
		return err
	}
	out.SetLength(in.Length)
	out.SetByteLength(in.ByteLength)
	out.SetWritable(in.Writable)
	out.SetDownloaded(in.Downloaded)
	out.SetLoaded(in.Loaded)
	return out.SetName(in.Name)
}

func readCoreInfo(in schema.CoreInfo) CoreInfo {
	k, _ := in.Key()
	dk, _ := in.DiscoveryKey()
	name, _ := in.Name()
	return CoreInfo{
		Key: hex.EncodeToString(k), DiscoveryKey: hex.EncodeToString(dk),
		Length: in.Length(), ByteLength: in.ByteLength(), Writable: in.Writable(),
		Name: name, Downloaded: in.Downloaded(), Loaded: in.Loaded(),
	}
}

func writeStatus(out schema.Status, in Status) error {
	if err := out.SetVersion(in.Version); err != nil {
		return err
	}
	if err := out.SetHome(in.Home); err != nil {
		return err
	}
	if err := out.SetStorage(in.Storage); err != nil {
		return err
	}
	if err := out.SetSocket(in.Socket); err != nil {
		return err
	}
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
	net.SetAvailable(in.Network.Available)
	net.SetPort(in.Network.Port)
	net.SetPeers(in.Network.Peers)
	net.SetTopics(in.Network.Topics)
	pk, err := hex.DecodeString(in.Network.PublicKey)
	if err != nil {
		return err
	}
	return net.SetPublicKey(pk)
}

func readStatus(in schema.Status) Status {
	text := func(f func() (string, error)) string { s, _ := f(); return s }
	st := Status{
		Version: text(in.Version), Home: text(in.Home), Storage: text(in.Storage), Socket: text(in.Socket),
		Protocol: in.Protocol(), UptimeMs: in.UptimeMs(), Pid: in.Pid(),
		CoresStored: in.CoresStored(), CoresLoaded: in.CoresLoaded(), Clients: in.Clients(),
	}
	if net, err := in.Network(); err == nil {
		pk, _ := net.PublicKey()
		st.Network = NetworkStatus{
			Available: net.Available(), PublicKey: hex.EncodeToString(pk),
			Port: net.Port(), Peers: net.Peers(), Topics: net.Topics(),
		}
	}
	return st
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
