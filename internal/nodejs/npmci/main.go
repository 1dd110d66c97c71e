// Command npmci installs the pinned packages of every JS peer the tests
// run (each testdata folder with a package-lock.json), as the tests would
// on first use. .ci/test runs it before taking the network away.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hspd/hsp/internal/nodejs"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	dirs, err := peerDirs(root)
	if err == nil && len(dirs) == 0 {
		err = fmt.Errorf("no testdata folder with a package-lock.json under %s", root)
	}
	for _, dir := range dirs {
		if err != nil {
			break
		}
		fmt.Println("npm ci in", dir)
		err = nodejs.Install(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "npmci:", err)
		os.Exit(1)
	}
}

// peerDirs finds the folders under a testdata folder holding a lock file.
func peerDirs(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git"):
			return filepath.SkipDir
		case d.Name() == "package-lock.json" && slices.Contains(strings.Split(filepath.ToSlash(path), "/"), "testdata"):
			out = append(out, filepath.Dir(path))
		}
		return nil
	})
	return out, err
}
