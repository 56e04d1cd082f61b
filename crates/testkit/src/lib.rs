//! Test support for driftless: a real Kubernetes control plane
//! ([`cluster`]), a real Git server ([`git`]), and Helm chart servers
//! ([`helm`]: a chart repository and an OCI registry) on 127.0.0.1; the
//! checks the fault tests share ([`faults`]); the Jsonnet evaluator program
//! for tests that render in-process ([`evaluator`]).

pub mod cluster;
pub mod evaluator;
pub mod faults;
pub mod git;
pub mod helm;
pub mod metrics;
pub mod procfs;

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}
