// Package scenarios holds the scenario files shipped with shadowload, so the
// binary can run them from anywhere.
package scenarios

import "embed"

// Files are the shipped scenario files, by file name (quickstart.yaml …).
//
//go:embed *.yaml
var Files embed.FS
