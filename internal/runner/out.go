package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shadowload/shadowload/metrics"
)

// Output is a file written from the run's report.
type Output struct {
	// Path is where the file goes; its flag names it in errors.
	Path string
	// Flag is the option that asked for it, such as "--html".
	Flag string
	// Write writes the report in the file's format.
	Write func(io.Writer, *metrics.Report) error
}

// reportFile is where one output goes. It is opened before the run, as a
// temporary file beside the destination, so an unwritable path is found
// before the first connection; the file replaces the destination in one
// rename once written.
type reportFile struct {
	Output
	what string
	tmp  *os.File
}

// reportFiles are the outputs of a run, the JSON report last so that it
// records whether the others were written.
type reportFiles []*reportFile

// openOutputs checks that every output path can take its file and opens
// their temporary files.
func openOutputs(opts Options) (reportFiles, error) {
	outs := append([]Output(nil), opts.Outputs...)
	if opts.Out != "" {
		outs = append(outs, Output{Path: opts.Out, Flag: "--out", Write: func(w io.Writer, r *metrics.Report) error { return r.WriteJSON(w) }})
	}
	var files reportFiles
	for _, o := range outs {
		f, err := openReport(o)
		if err != nil {
			files.discard()
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// discard removes the temporary files of outputs that will not be written.
func (fs reportFiles) discard() {
	for _, f := range fs {
		f.discard()
	}
}

// openReport checks that o.Path can take the file and opens its temporary
// file.
func openReport(o Output) (*reportFile, error) {
	if st, err := os.Stat(o.Path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s %s: is a directory; want a file path", o.Flag, o.Path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.Path), "."+filepath.Base(o.Path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot write the report there: %w", o.Flag, o.Path, err)
	}
	what := "report"
	if o.Flag != "--out" {
		what = o.Flag[2:] + " output"
	}
	return &reportFile{Output: o, what: what, tmp: tmp}, nil
}

// write writes the report and moves it into place.
func (f *reportFile) write(rep *metrics.Report) error {
	if err := f.Write(f.tmp, rep); err != nil {
		f.discard()
		return fmt.Errorf("%s %s: %w", f.Flag, f.Path, err)
	}
	// A temporary file is private; a report is not.
	if err := f.tmp.Chmod(0o644); err != nil {
		f.discard()
		return fmt.Errorf("%s %s: %w", f.Flag, f.Path, err)
	}
	if err := f.tmp.Close(); err != nil {
		_ = os.Remove(f.tmp.Name())
		return fmt.Errorf("%s %s: %w", f.Flag, f.Path, err)
	}
	if err := os.Rename(f.tmp.Name(), f.Path); err != nil {
		_ = os.Remove(f.tmp.Name())
		return fmt.Errorf("%s %s: %w", f.Flag, f.Path, err)
	}
	return nil
}

// discard removes the temporary file of a report that will not be written.
func (f *reportFile) discard() {
	_ = f.tmp.Close()
	_ = os.Remove(f.tmp.Name())
}
