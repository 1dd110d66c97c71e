package home

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Config is the home's settings file, $HSP_HOME/config: one `key = value`
// a line, a flat subset of TOML. A value is a "quoted string" (with \" and
// \\ escapes), an integer, or true or false; # starts a comment. Order and
// comments survive a Save. Which keys exist, and what their values mean,
// is the caller's (the CLI's settings table).
type Config struct {
	path  string
	lines []configLine
}

type configLine struct {
	raw   string // a comment or blank line, kept as it was
	key   string // "" for raw lines
	value string
}

var configKey = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// ErrConfig: the settings file cannot be read as settings.
var ErrConfig = errors.New("malformed config")

// LoadConfig reads the settings file at path; a missing file is empty.
func LoadConfig(path string) (*Config, error) {
	c := &Config{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, err := parseConfigLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w: %w", path, n, ErrConfig, err)
		}
		if line.key != "" {
			if _, dup := c.Get(line.key); dup {
				return nil, fmt.Errorf("%s line %d: %w: %s is set twice", path, n, ErrConfig, line.key)
			}
		}
		c.lines = append(c.lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return c, nil
}

func parseConfigLine(text string) (configLine, error) {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return configLine{raw: text}, nil
	}
	key, value, ok := strings.Cut(trimmed, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if !ok || !configKey.MatchString(key) {
		return configLine{}, fmt.Errorf("want key = value, got %q", trimmed)
	}
	v, err := parseConfigValue(value)
	if err != nil {
		return configLine{}, fmt.Errorf("%s: %w", key, err)
	}
	return configLine{key: key, value: v}, nil
}

// parseConfigValue reads a quoted string, an integer or a boolean, with an
// optional comment after it.
func parseConfigValue(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		end := closingQuote(s)
		if end < 0 {
			return "", errors.New("a string without its closing quote")
		}
		if rest := strings.TrimSpace(s[end+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("%q after the string", rest)
		}
		return strconv.Unquote(s[:end+1])
	}
	if i := strings.Index(s, "#"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "true" || s == "false" {
		return s, nil
	}
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return "", fmt.Errorf("value %q: write a string in double quotes, an integer, true or false", s)
	}
	return s, nil
}

func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// Get returns the value of key.
func (c *Config) Get(key string) (string, bool) {
	for _, l := range c.lines {
		if l.key == key {
			return l.value, true
		}
	}
	return "", false
}

// Set sets key to value.
func (c *Config) Set(key, value string) {
	for i, l := range c.lines {
		if l.key == key {
			c.lines[i].value = value
			return
		}
	}
	c.lines = append(c.lines, configLine{key: key, value: value})
}

// Unset removes key; it reports whether it was set.
func (c *Config) Unset(key string) bool {
	for i, l := range c.lines {
		if l.key == key {
			c.lines = append(c.lines[:i], c.lines[i+1:]...)
			return true
		}
	}
	return false
}

// All returns every key and its value, in file order.
func (c *Config) All() [][2]string {
	var out [][2]string
	for _, l := range c.lines {
		if l.key != "" {
			out = append(out, [2]string{l.key, l.value})
		}
	}
	return out
}

// Save writes the file whole (0600), through a temporary file renamed into
// place, so a reader never sees half of it.
func (c *Config) Save() error {
	var b strings.Builder
	for _, l := range c.lines {
		if l.key == "" {
			b.WriteString(l.raw + "\n")
			continue
		}
		fmt.Fprintf(&b, "%s = %s\n", l.key, formatConfigValue(l.value))
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

func formatConfigValue(v string) string {
	if v == "true" || v == "false" {
		return v
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return v
	}
	return strconv.Quote(v)
}
