package main

import (
	"net"
	"os"
	"strings"
	"testing"
)

// TestMain gives every daemon the tests start, through the CLI or a
// spawn, no DHT bootstrap unless a test names one: a test never reaches
// the public network (the suite's guard, .ci/test, checks it).
func TestMain(m *testing.M) {
	os.Setenv("HSP_BOOTSTRAP", "none")
	os.Exit(m.Run())
}

// TestNetworkGuard checks that the suite runs under .ci/test's guard (in
// CI it must): a namespace with loopback and the guard interface only.
func TestNetworkGuard(t *testing.T) {
	if os.Getenv("HSP_NETGUARD") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs the tests through .ci/test, which guards the network; HSP_NETGUARD is not set")
		}
		t.Skip("not under the network guard: run the suite with `bash .ci/test`")
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Name != "lo" && !strings.HasPrefix(i.Name, "hspguard") {
			t.Errorf("interface %s in the test namespace: packets could leave through it", i.Name)
		}
	}
}
