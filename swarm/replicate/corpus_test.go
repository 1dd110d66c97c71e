package replicate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeCorpus writes seeds to testdata/fuzz/FuzzMessages (run once with
// HSP_WRITE_FUZZ_CORPUS=1 to refresh the committed corpus).
func writeCorpus(f *testing.F, seeds [][]byte) {
	dir := filepath.Join("testdata", "fuzz", "FuzzMessages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for i, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
}
