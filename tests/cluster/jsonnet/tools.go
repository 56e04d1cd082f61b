//go:build tools

// Package tools pins the reference jsonnet command (go-jsonnet, what Argo CD
// evaluates Jsonnet sources with) this wrapper module builds.
package tools

import _ "github.com/google/go-jsonnet/cmd/jsonnet"
