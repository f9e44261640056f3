package fleet

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeTemp writes data to a new temporary file in dir whose name starts with
// base, with mode perm, and returns its path.
func writeTemp(dir, base string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("fleet: create temporary file for %s in %s: %w", base, dir, err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("fleet: write %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("fleet: close %s: %w", name, err)
	}
	return name, nil
}

// writeAtomic replaces path with data (mode perm) through a temporary file and
// a rename, so readers see the old content or the new, never a mix.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(filepath.Dir(path), filepath.Base(path), data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fleet: replace %s: %w", path, err)
	}
	return nil
}

// writeFile writes data to path in one open, write and close, creating or
// truncating it. An existing file keeps its mode unless forceMode is set, in
// which case it is set to perm as well.
func writeFile(path string, data []byte, perm os.FileMode, forceMode bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	if forceMode {
		if err := f.Chmod(perm); err != nil {
			f.Close()
			return fmt.Errorf("fleet: chmod %s: %w", path, err)
		}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("fleet: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("fleet: close %s: %w", path, err)
	}
	return nil
}
