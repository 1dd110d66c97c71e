package commands

import (
	"errors"
	"strings"
	"testing"

	"github.com/hspd/hsp/rpc"
)

func TestParseKeyArg(t *testing.T) {
	whole := strings.Repeat("ab", 32)
	for _, arg := range []string{whole, "hyper://" + whole, "HYPER://" + whole, "Hyper://" + strings.ToUpper(whole) + "/", "abababab", "ABABABAB01"} {
		if _, err := parseKeyArg(arg); err != nil {
			t.Errorf("parseKeyArg(%q): %v", arg, err)
		}
	}
	for _, arg := range []string{"abababa", "hyper://abc", "not-a-key", whole + "ab", "abababaz", "ftp://" + whole} {
		if _, err := parseKeyArg(arg); !errors.Is(err, rpc.ErrBadKey) {
			t.Errorf("parseKeyArg(%q) = %v, want a bad key", arg, err)
		}
	}
}

func TestMatchPrefix(t *testing.T) {
	keys := []string{"aaaaaaaa11" + strings.Repeat("0", 54), "aaaaaaaa22" + strings.Repeat("0", 54), "bbbbbbbb" + strings.Repeat("0", 56)}
	if k, err := matchPrefix(keys, "bbbbbbbb"); err != nil || k != keys[2] {
		t.Errorf("unique prefix: %q, %v", k, err)
	}
	_, err := matchPrefix(keys, "aaaaaaaa")
	if code, _ := classify(err); code != ExitUsage || !strings.Contains(err.Error(), keys[0]) || !strings.Contains(err.Error(), keys[1]) {
		t.Errorf("ambiguous prefix: exit %d, %v", code, err)
	}
	if _, err := matchPrefix(keys, "cccccccc"); !errors.Is(err, rpc.ErrNotFound) {
		t.Errorf("no match: %v", err)
	}
}

func TestShortKeys(t *testing.T) {
	z := strings.Repeat("0", 50)
	if n := shortKeys([]string{"0123456789abcd" + z, "0123456789abce" + z}); n != 14 {
		t.Errorf("keys sharing 13 characters cut to %d", n)
	}
	if n := shortKeys([]string{"1" + z, "2" + z}); n != minKeyPrefix {
		t.Errorf("distinct keys cut to %d", n)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 16 << 20: "16 MiB", 3 << 30: "3 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("evil\x1b[2J\nline2\x7f\xff"); got != `evil\x1b[2J\nline2\x7f\xff` {
		t.Errorf("printable: %q", got)
	}
	if got := printableText("a\nb\x1b"); got != "a\nb\\x1b" {
		t.Errorf("printableText: %q", got)
	}
}

func TestUsageErrorsSpellTwoDashes(t *testing.T) {
	out, code := run(t, "cat", "--bogus", "x")
	if code != ExitUsage || !strings.Contains(out, "--bogus") {
		t.Fatalf("exit %d: %s", code, out)
	}
	out, _ = run(t, "cat", "--start")
	if !strings.Contains(out, "flag needs an argument: --start") {
		t.Fatalf("%s", out)
	}
}
