package swarm

import "net/netip"

// Sources of PublicAddress's Addr and Holepunchable.
const (
	SourceDHT  = "dht"  // the DHT's tally of what its nodes saw (spec §4.1)
	SourceSTUN = "stun" // the STUN servers' answers
)

// PublicAddress is our address as seen from outside, from the DHT and
// from STUN combined (spec §8 rule 4).
type PublicAddress struct {
	// Addr is our ip:port as seen from outside; zero when unknown.
	Addr netip.AddrPort
	// AddrFrom says how Addr was learnt: SourceDHT when the DHT's tally
	// has one, else SourceSTUN (the most recent answer); "" when unknown.
	AddrFrom string
	// Holepunchable: our NAT maps consistently, so holepunches can work.
	Holepunchable bool
	// HolepunchableFrom: SourceDHT (≥3 DHT nodes agree on ip:port),
	// SourceSTUN (≥2 STUN servers saw the same ip:port), or "".
	HolepunchableFrom string
	// STUN lists each configured server's last round, in Options.STUN's
	// order (duplicates once); nil before Listen.
	STUN []STUNResult
}

// PublicAddress returns our address as seen from outside: the DHT node's
// (Options.DHT) when its tally has one, else the latest STUN answer
// (Options.STUN). It is zero before Listen.
func (s *Swarm) PublicAddress() PublicAddress {
	u := s.udpSide()
	if u == nil {
		return PublicAddress{}
	}
	var dhtAddr netip.AddrPort
	var dhtHP bool
	if u.node != nil {
		st := u.node.Status()
		dhtAddr, dhtHP = st.RemoteAddress, st.Holepunchable
	}
	return combine(dhtAddr, dhtHP, u.stun.snapshot())
}

// combine is spec §8 rule 4: Addr from the DHT when it has one, else from
// the latest STUN answer; Holepunchable when the DHT says so or two STUN
// servers saw the same ip:port.
func combine(dhtAddr netip.AddrPort, dhtHP bool, seen []stunSeen) PublicAddress {
	p := PublicAddress{STUN: make([]STUNResult, len(seen))}
	for i, v := range seen {
		p.STUN[i] = v.res
	}
	if dhtAddr.IsValid() {
		p.Addr, p.AddrFrom = dhtAddr, SourceDHT
	} else if r, ok := latestAnswer(p.STUN); ok {
		p.Addr, p.AddrFrom = r.Mapped, SourceSTUN
	}
	if dhtHP {
		p.Holepunchable, p.HolepunchableFrom = true, SourceDHT
	} else if stunConsistent(seen) {
		p.Holepunchable, p.HolepunchableFrom = true, SourceSTUN
	}
	return p
}

// latestAnswer is the most recent round that got a mapped address.
func latestAnswer(results []STUNResult) (STUNResult, bool) {
	var latest STUNResult
	for _, r := range results {
		if r.Mapped.IsValid() && (!latest.Mapped.IsValid() || r.When.After(latest.When)) {
			latest = r
		}
	}
	return latest, latest.Mapped.IsValid()
}

// stunConsistent: two servers at different addresses saw the same
// ip:port, so the NAT's mapping does not depend on the endpoint.
func stunConsistent(seen []stunSeen) bool {
	for i, a := range seen {
		for _, b := range seen[i+1:] {
			if a.res.Mapped.IsValid() && a.res.Mapped == b.res.Mapped && a.server != b.server {
				return true
			}
		}
	}
	return false
}
