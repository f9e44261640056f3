package runner

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/shadowload/shadowload/metrics"
)

// reportFile is where the JSON report goes. It is opened before the run, as
// a temporary file beside the destination, so an unwritable path is found
// before the first connection; the report replaces the destination in one
// rename once written.
type reportFile struct {
	path string
	tmp  *os.File
}

// openReport checks that path can take the report and opens its temporary
// file. An empty path writes nothing.
func openReport(path string) (*reportFile, error) {
	if path == "" {
		return nil, nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("--out %s: is a directory; want a file path", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("--out %s: cannot write the report there: %w", path, err)
	}
	return &reportFile{path: path, tmp: tmp}, nil
}

// write writes the report and moves it into place.
func (f *reportFile) write(rep *metrics.Report) error {
	if err := rep.WriteJSON(f.tmp); err != nil {
		f.discard()
		return fmt.Errorf("--out %s: %w", f.path, err)
	}
	if err := f.tmp.Close(); err != nil {
		_ = os.Remove(f.tmp.Name())
		return fmt.Errorf("--out %s: %w", f.path, err)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		_ = os.Remove(f.tmp.Name())
		return fmt.Errorf("--out %s: %w", f.path, err)
	}
	return nil
}

// discard removes the temporary file of a report that will not be written.
func (f *reportFile) discard() {
	_ = f.tmp.Close()
	_ = os.Remove(f.tmp.Name())
}
