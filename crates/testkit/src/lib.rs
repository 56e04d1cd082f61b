//! Test support for driftless: a real Kubernetes control plane
//! ([`cluster`]) and a real Git server ([`git`]) on 127.0.0.1.

pub mod cluster;
pub mod git;
