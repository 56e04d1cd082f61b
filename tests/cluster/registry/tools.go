//go:build tools

// Package tools pins the OCI registry command this wrapper module builds.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
