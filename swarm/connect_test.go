package swarm

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/dht"
)

// TestConnectTCPOnly: a peer with no referrer (from mDNS or a LAN list)
// is dialled over TCP alone, as Dial would; the Conn says "tcp".
func TestConnectTCPOnly(t *testing.T) {
	ra := newRecorder(true)
	a := newSwarm(t, Options{Handler: ra.handle})
	b := newSwarm(t, Options{DHT: &dht.Options{}})
	start(t, a)
	c, err := b.Connect(context.Background(), portOf(a), netip.AddrPort{})
	must(t, err)
	ra.next(t)
	if c.Transport != TransportTCP || !c.Initiator || c.RemoteAddr != addr(a) {
		t.Fatalf("Conn %+v", c)
	}
	if st := b.Stats(); st.Dialled != 1 || st.TCP != 1 || st.UTP != 0 {
		t.Errorf("b's stats %+v", st)
	}
}

// TestConnectErrors: a Connect that fails names what each attempt did,
// and why an attempt was not made; errors.Is sees the causes.
func TestConnectErrors(t *testing.T) {
	somewhere := netip.MustParseAddrPort("127.0.0.1:9")
	for _, tc := range []struct {
		name     string
		opts     Options
		referrer netip.AddrPort
		want     []string
		is       error
	}{
		{"refused, no referrer", Options{}, netip.AddrPort{},
			[]string{"tcp: connection refused", "utp: not tried, "}, syscall.ECONNREFUSED},
		{"refused, no dht", Options{}, somewhere,
			[]string{"tcp: connection refused", "utp: not tried, "}, syscall.ECONNREFUSED},
		{"tcp disabled, no referrer", Options{NoTCP: true, DHT: &dht.Options{}}, netip.AddrPort{},
			[]string{"tcp: not tried, disabled by Options.NoTCP", "utp: not tried, "}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSwarm(t, tc.opts)
			to := netip.MustParseAddrPort(freeAddr(t))
			_, err := s.Connect(context.Background(), to, tc.referrer)
			if err == nil || !strings.Contains(err.Error(), "connect "+to.String()+": ") {
				t.Fatalf("Connect: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Connect: %v; want it to say %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Connect: %v; not %v", err, tc.is)
			}
			t.Log(err)
			if st := s.Stats(); st.DialFailed != 1 || s.admitted() != 0 {
				t.Errorf("stats %+v, %d admitted", st, s.admitted())
			}
		})
	}
}

// TestConnectTimeout: an attempt that connects but never handshakes is
// given up at ConnectTimeout, which names itself and wraps
// context.DeadlineExceeded; the place is given back.
func TestConnectTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	s := newSwarm(t, Options{ConnectTimeout: timeout, HandshakeTimeout: waitLong})
	to := netip.MustParseAddrPort(silentListener(t).Addr().String())
	begin := time.Now()
	_, err := s.Connect(context.Background(), to, netip.AddrPort{})
	took := time.Since(begin)
	if err == nil || !strings.Contains(err.Error(), "tcp: handshake: timed out after 150ms") ||
		!errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect: %v", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("took %v, want about %v", took, timeout)
	}
	if st := s.Stats(); st.HandshakeFailed != 0 || s.admitted() != 0 {
		t.Errorf("stats %+v, %d admitted", st, s.admitted())
	}
}

// TestConnectCanceled: ctx ending fails the Connect with its cause.
func TestConnectCanceled(t *testing.T) {
	s := newSwarm(t, Options{HandshakeTimeout: waitLong})
	to := netip.MustParseAddrPort(silentListener(t).Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Connect(ctx, to, netip.AddrPort{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect with a short ctx: %v", err)
	}
	if s.admitted() != 0 {
		t.Error("the canceled Connect kept its place")
	}
}

// TestNoTCP: a swarm with NoTCP refuses TCP on its port and does not dial
// it.
func TestNoTCP(t *testing.T) {
	a := newSwarm(t, Options{NoTCP: true})
	r := start(t, a)
	b := newSwarm(t, Options{})
	if _, err := b.Dial(context.Background(), addr(a)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to a NoTCP swarm: %v", err)
	}
	if _, err := a.Dial(context.Background(), freeAddr(t)); err == nil || !strings.Contains(err.Error(), "NoTCP") {
		t.Fatalf("Dial from a NoTCP swarm: %v", err)
	}
	r.alive()
	must(t, r.stop())
}
