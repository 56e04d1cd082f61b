//! driftless-controller
