//go:build tools

// Package tools pins Flux's notification-controller, the command this
// wrapper module builds (the webhook Receiver of the benchmark peer in
// bench/peers.sh), so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/fluxcd/notification-controller"
