package commands

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/home"
)

// A setting is a daemon option that can live in the home's config file
// (`hsp config set KEY VALUE`) and be given, for one start, as the flag of
// the same name to `hsp daemon` or `hsp daemon start`. Every start reads the
// file; a flag overrides it for that start.
type setting struct {
	key   string
	about string
	check func(string) error
}

var settings = []setting{
	{"host", "the TCP host to serve RPC on, with port", checkHost},
	{"port", "also serve RPC on this TCP port (0: off); clients present the home's token", checkPort},
	{"max-clients", "clients served at once on each listener", checkCount},
	{"reserve", "free space writes leave on the disk (64MiB, 1GB, ...; 0: no check)", checkReserve},
	{"idle-timeout", "how long a core no client uses stays loaded (5m, 1h, ...)", checkDuration},
	{"max-loaded", "idle cores kept loaded at most", checkCount},
	{"log-level", "debug, info, warn or error", checkLevel},
	{"trace", "subsystems logged at debug level, comma-separated", func(string) error { return nil }},
	{"swarm-host", "the host the swarm listens on for peers (default: every interface)", checkHost},
	{"swarm-port", "the swarm's port for peers (default: random, chosen on first need and remembered here)", checkPort},
	{"max-peers", "replication connections at most", checkCount},
	{"bootstrap", "the DHT's bootstrap nodes, HOST:PORT,... (none: no other node; default: the public Hyperswarm 2 ones)", checkBootstrap},
	{"stun", "STUN servers asked for the public address, HOST:PORT,... (default: none)", checkSTUN},
	{"serve", "which stored cores peers get: all (who knows the key) or announced", checkServe},
}

func checkSTUN(v string) error {
	_, err := parseSTUN(v)
	return err
}

// parseSTUN reads a STUN server list as parseBootstrap does, without its
// "none".
func parseSTUN(v string) ([]string, error) {
	if strings.TrimSpace(v) == noBootstrap {
		return nil, fmt.Errorf("%q: leave the setting unset for no STUN server", v)
	}
	return parseBootstrap(v)
}

func checkServe(v string) error {
	if v != "all" && v != "announced" {
		return fmt.Errorf("%q: give all or announced", v)
	}
	return nil
}

func settingOf(key string) (setting, error) {
	for _, s := range settings {
		if s.key == key {
			return s, nil
		}
	}
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	return setting{}, usagef("no setting %q; the settings are %s", key, strings.Join(keys, ", "))
}

// effectiveSettings merges the config file and the flags set on the
// command line (flags win), checking every value. Keys with no value are
// absent: the daemon's defaults apply.
func effectiveSettings(c *cli.Context, p home.Paths) (map[string]string, error) {
	cfg, err := home.LoadConfig(p.Config)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, kv := range cfg.All() {
		s, err := settingOf(kv[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Config, err)
		}
		if err := s.check(kv[1]); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", p.Config, s.key, err)
		}
		out[s.key] = kv[1]
	}
	for _, s := range settings {
		// An empty value ($HSP_BOOTSTRAP= say) leaves the setting as it is.
		if v, ok := flagSet(c, s.key); ok && v != "" {
			if err := s.check(v); err != nil {
				return nil, usagef("--%s: %v", s.key, err)
			}
			out[s.key] = v
		}
	}
	return out, nil
}

// flagSet finds a flag set anywhere on the command line, so `hsp daemon
// --port N start` and `hsp daemon start --port N` mean the same.
func flagSet(c *cli.Context, name string) (string, bool) {
	for _, ctx := range c.Lineage() {
		if ctx.Command != nil && ctx.IsSet(name) && slices.ContainsFunc(ctx.Command.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), name) }) {
			return fmt.Sprint(ctx.Value(name)), true
		}
	}
	return "", false
}

func checkHost(v string) error {
	if v == "" || strings.ContainsAny(v, " /") {
		return fmt.Errorf("%q is not a host", v)
	}
	return nil
}

func checkPort(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q is not a port (0 to 65535)", v)
	}
	return nil
}

func checkCount(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 0 {
		return fmt.Errorf("%q is not a count", v)
	}
	return nil
}

func checkReserve(v string) error {
	if v == "default" {
		return nil
	}
	_, err := parseSize(v)
	return err
}

func checkDuration(v string) error {
	if d, err := time.ParseDuration(v); err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration (5m, 1h30m, ...)", v)
	}
	return nil
}

func checkLevel(v string) error {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(v)) {
		return fmt.Errorf("%q: want debug, info, warn or error", v)
	}
	return nil
}

// tcpAddrOf is the RPC TCP address of the settings, or "" without a port.
func tcpAddrOf(s map[string]string) string {
	port := s["port"]
	if port == "" || port == "0" {
		return ""
	}
	host := s["host"]
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// noBootstrap is the bootstrap value that names no node: the DHT node is
// then a seed, as a private network's first node.
const noBootstrap = "none"

// parseBootstrap reads a bootstrap list, HOST:PORT entries separated by
// commas; "none" is the empty list.
func parseBootstrap(v string) ([]string, error) {
	if strings.TrimSpace(v) == noBootstrap {
		return []string{}, nil
	}
	var out []string
	for _, e := range splitList(v) {
		host, port, err := net.SplitHostPort(e)
		if err != nil || !validBootstrapHost(host) {
			return nil, fmt.Errorf("%q is not HOST:PORT, with an IPv4 address or a host name", e)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: %q is not a port (1 to 65535)", e, port)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no HOST:PORT (none: no bootstrap node)", v)
	}
	return out, nil
}

func checkBootstrap(v string) error {
	_, err := parseBootstrap(v)
	return err
}

// validBootstrapHost accepts IPv4 addresses (the DHT is IPv4 only) and
// what could be a host name.
func validBootstrapHost(h string) bool {
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().Is4()
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return h != ""
}
