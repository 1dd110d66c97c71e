package main

import (
	"os"
	"testing"
)

// TestMain gives every daemon the tests start, through the CLI or a
// spawn, no DHT bootstrap unless a test names one: a test never reaches
// the public network (the suite's guard, .ci/test, checks it).
func TestMain(m *testing.M) {
	os.Setenv("HSP_BOOTSTRAP", "none")
	os.Exit(m.Run())
}
