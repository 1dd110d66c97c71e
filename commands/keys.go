package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hspd/hsp/rpc"
)

// minKeyPrefix is the shortest prefix of a key a command accepts, as git
// takes abbreviated commit ids.
const minKeyPrefix = 8

// keyArg is a KEY argument read but not yet resolved: a whole key, or the
// prefix of one, in lowercase hex.
type keyArg struct {
	arg    string
	hex    string // the whole key
	prefix string // or its prefix
}

// parseKeyArg reads 64 hex characters, hyper://<hex> (the scheme in any
// case), or a prefix of at least 8 hex characters.
func parseKeyArg(arg string) (keyArg, error) {
	s := arg
	if len(s) >= len("hyper://") && strings.EqualFold(s[:len("hyper://")], "hyper://") {
		s = s[len("hyper://"):]
	}
	s = strings.ToLower(strings.TrimSuffix(s, "/"))
	if len(s) == 64 {
		if _, err := rpc.ParseKey(s); err != nil {
			return keyArg{}, badKey(arg)
		}
		return keyArg{arg: arg, hex: s}, nil
	}
	if len(s) < minKeyPrefix || len(s) > 64 || strings.Trim(s, "0123456789abcdef") != "" {
		return keyArg{}, badKey(arg)
	}
	return keyArg{arg: arg, prefix: s}, nil
}

func badKey(arg string) error {
	return fmt.Errorf("%w %q: want 64 hex characters, hyper://<64 hex characters>, or a unique prefix of at least %d", rpc.ErrBadKey, arg, minKeyPrefix)
}

// resolve finds the key a prefix names among the stored cores, in hex.
func (k keyArg) resolve(ctx context.Context, client *rpc.Client) (string, error) {
	if k.prefix == "" {
		return k.hex, nil
	}
	cores, err := client.List(ctx)
	if err != nil {
		return "", err
	}
	keys := make([]string, len(cores))
	for i, ci := range cores {
		keys[i] = ci.Key.String()
	}
	return matchPrefix(keys, k.prefix)
}

// matchPrefix finds the one key of keys that starts with prefix.
func matchPrefix(keys []string, prefix string) (string, error) {
	var matches []string
	for _, key := range keys {
		if strings.HasPrefix(key, prefix) {
			matches = append(matches, key)
		}
	}
	switch len(matches) {
	case 0:
		return "", rpc.Tagged(fmt.Sprintf("no core whose key starts with %s is stored here (`hsp ls` lists them)", prefix), rpc.ErrNotFound)
	case 1:
		return matches[0], nil
	}
	sort.Strings(matches)
	return "", usagef("key prefix %s is ambiguous; it starts %d keys:\n  %s", prefix, len(matches), strings.Join(matches, "\n  "))
}

// resolveKey reads a KEY argument and finds the key, in hex, of the core
// it names.
func resolveKey(ctx context.Context, client *rpc.Client, arg string) (string, error) {
	k, err := parseKeyArg(arg)
	if err != nil {
		return "", err
	}
	return k.resolve(ctx, client)
}

// checkKeyArgs reads KEY arguments before any daemon is asked, so that a
// malformed one is a usage error at once.
func checkKeyArgs(args ...string) error {
	for _, a := range args {
		if _, err := parseKeyArg(a); err != nil {
			return err
		}
	}
	return nil
}

// shortKeys abbreviates keys to the shortest prefix, of at least 8
// characters, that tells each from all the others.
func shortKeys(keys []string) int {
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	n := minKeyPrefix
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		common := 0
		for common < len(a) && common < len(b) && a[common] == b[common] {
			common++
		}
		n = max(n, common+1)
	}
	return min(n, 64)
}
