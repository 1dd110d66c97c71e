package swarm

// foundPeer hands a peer that a topic's round found to the queue.
func (s *Swarm) foundPeer(f Found) { s.AddPeer(f) }

// leftTopic tells the queue that a topic was left: its peers are dialled
// no more (those connected stay).
func (s *Swarm) leftTopic(t [32]byte) { s.queue.leave(t) }
