package commands

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

var update = flag.Bool("update", false, "rewrite the golden help files")

// TestHelpGolden pins every command's help text: a change shows up in
// review as a diff of testdata/help/*.txt (go test -update rewrites them).
func TestHelpGolden(t *testing.T) {
	cases := map[string][]string{"hsp": {"hsp", "--help"}}
	for _, path := range commandPaths() {
		cases["hsp "+strings.Join(path, " ")] = append(append([]string{"hsp"}, path...), "--help")
	}
	for name, args := range cases {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != ExitOK {
			t.Fatalf("%s --help exited %d: %s", name, code, errOut.String())
		}
		// (`hsp help --help` is the top-level help, as urfave/cli has it.)
		if first := strings.SplitN(out.String(), "\n", 3); name != "hsp help" && (len(first) < 2 || !strings.HasPrefix(strings.TrimSpace(first[1]), name+" ")) {
			t.Errorf("%s --help is the help of another command: %q", name, first)
		}
		file := filepath.Join("testdata", "help", strings.ReplaceAll(name, " ", "_")+".txt")
		if *update {
			os.MkdirAll(filepath.Dir(file), 0o755)
			if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./commands -update)", name, err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s --help changed; run go test ./commands -update and review the diff\n--- got\n%s", name, out.String())
		}
	}
}

// commandPaths lists every command and subcommand by its names.
func commandPaths() [][]string {
	var out [][]string
	var walk func(prefix []string, app []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, prefix...), c.Name)
			out = append(out, p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(newOutput(nil, nil)).Commands)
	return out
}
