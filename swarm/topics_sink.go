package swarm

import "context"

// foundPeer hands a peer that a topic's round found to the connections:
// for now a dial unless a connection to that address exists.
// TODO(queue): the peer queue takes this over.
func (s *Swarm) foundPeer(f Found) {
	addr := f.Addr.String()
	for _, c := range s.Conns() {
		if c.RemoteAddr == addr {
			return
		}
	}
	go s.Dial(context.Background(), addr)
}

// leftTopic tells the connections that a topic was left.
func (s *Swarm) leftTopic([32]byte) {}
