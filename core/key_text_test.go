package core

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKeyText(t *testing.T) {
	var k Key
	for i := range k {
		k[i] = byte(i * 7)
	}
	b, err := json.Marshal(struct {
		K Key          `json:"k"`
		D DiscoveryKey `json:"d"`
		Z Key          `json:"z,omitzero"`
	}{K: k, D: k.DiscoveryKey()})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"k":"` + k.String() + `","d":"` + k.DiscoveryKey().String() + `"}`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	var back struct {
		K Key          `json:"k"`
		D DiscoveryKey `json:"d"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.K != k || back.D != k.DiscoveryKey() {
		t.Fatalf("round trip: %v, %+v", err, back)
	}
	for _, bad := range []string{`"ab"`, `"` + strings.Repeat("zz", 32) + `"`, `"hyper://` + k.String() + `"`} {
		if err := json.Unmarshal([]byte(bad), &back.K); err == nil {
			t.Errorf("%s: parsed as a key", bad)
		}
	}
}
