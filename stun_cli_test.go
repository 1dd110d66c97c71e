package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// stunServer answers STUN Binding requests on 127.0.0.1 with the address
// it saw, its replies built by pion/stun; it returns its address.
func stunServer(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var req stun.Message
			if stun.Decode(buf[:n], &req) != nil || req.Type != stun.BindingRequest {
				continue
			}
			resp, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())}, stun.Fingerprint)
			if err == nil {
				conn.WriteToUDPAddrPort(resp.Raw, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

// TestCLISTUN: a daemon given two STUN servers learns its address from
// them, from its swarm's UDP port, and holepunchable because both saw the
// same; `hsp status` says so in JSON and in text.
func TestCLISTUN(t *testing.T) {
	s1, s2 := stunServer(t), stunServer(t)
	c := newCLI(t)
	port := unusedPort(t)
	c.ok("daemon", "start", "--swarm-host", "127.0.0.1", "--swarm-port", port, "--bootstrap", "none", "--stun", s1+","+s2)
	want := "127.0.0.1:" + port
	var n map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n = jsonOf(t, c.ok("--json", "status"))["network"].(map[string]any)
		if n["holepunchable"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no holepunchable from two STUN servers within 10 s: %v\n%s", n, c.logTail())
		}
	}
	if n["remoteAddress"] != want || n["remoteAddressFrom"] != "stun" || n["holepunchableFrom"] != "stun" {
		t.Fatalf("network status: %v; want remoteAddress %s from stun", n, want)
	}
	answers := n["stun"].([]any)
	if len(answers) != 2 {
		t.Fatalf("stun answers: %v", answers)
	}
	for i, server := range []string{s1, s2} {
		if a := answers[i].(map[string]any); a["server"] != server || a["address"] != want {
			t.Fatalf("answer %d: %v, want %s saw %s", i, a, server, want)
		}
	}
	text := c.ok("status")
	for _, line := range []string{"address   " + want + " (from the stun), holepunchable (from the stun)", "stun      " + s1 + " saw " + want} {
		if !strings.Contains(text, line) {
			t.Fatalf("status text lacks %q:\n%s", line, text)
		}
	}

	// A daemon without --stun and no DHT node to tell it knows nothing.
	d := newCLI(t)
	d.ok("daemon", "start", "--swarm-host", "127.0.0.1", "--swarm-port", unusedPort(t), "--bootstrap", "none")
	n = jsonOf(t, d.ok("--json", "status"))["network"].(map[string]any)
	if n["remoteAddress"] != nil || n["holepunchable"] != false || n["stun"] != nil {
		t.Fatalf("without STUN: %v", n)
	}
}
