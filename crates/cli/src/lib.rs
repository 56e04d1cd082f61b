//! driftless-cli
