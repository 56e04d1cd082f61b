//! driftless-sync
