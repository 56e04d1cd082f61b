//! Where the machine's CPU went during a phase: the control plane's own
//! processes (kube-apiserver, etcd, kube-controller-manager, read through
//! its pids file) and the machine as a whole. On a small machine the cold
//! start is a contest for the cores; these figures say who had them.

use driftless_testkit::cluster::ControlPlane;
use driftless_testkit::procfs::{self, MachineCpu};

use crate::phases::Figure;

/// The control plane's processes whose CPU time is reported.
const PARTS: [&str; 3] = ["kube-apiserver", "etcd", "kube-controller-manager"];

/// CPU time at one moment.
pub(crate) struct Sample {
    /// CPU seconds of each of [`PARTS`] so far (0 when not running).
    parts: [f64; 3],
    machine: Option<MachineCpu>,
}

/// CPU spent between two samples.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Load {
    /// kube-apiserver's CPU seconds.
    pub(crate) apiserver: f64,
    /// etcd's CPU seconds.
    pub(crate) etcd: f64,
    /// kube-controller-manager's CPU seconds.
    pub(crate) controller_manager: f64,
    /// The share of all the machine's cores that was busy, in percent, or
    /// why not known.
    pub(crate) busy_percent: Figure<f64>,
}

/// The CPU time of `cp`'s processes and of the machine now.
pub(crate) fn sample(cp: &ControlPlane) -> Sample {
    let pids = cp.component_pids();
    let seconds = |part: &str| {
        pids.iter()
            .find(|(name, _)| name == part)
            .and_then(|(_, pid)| procfs::cpu_seconds(*pid))
            .unwrap_or(0.0)
    };
    Sample {
        parts: PARTS.map(seconds),
        machine: MachineCpu::now(),
    }
}

impl Sample {
    /// What was spent from `self` to `later`.
    pub(crate) fn until(&self, later: &Sample) -> Load {
        let spent = |i: usize| (later.parts[i] - self.parts[i]).max(0.0);
        let busy_percent = match (&self.machine, &later.machine) {
            (Some(a), Some(b)) => Ok(100.0 * a.busy_share_until(b)),
            _ => Err("/proc/stat could not be read".to_string()),
        };
        Load {
            apiserver: spent(0),
            etcd: spent(1),
            controller_manager: spent(2),
            busy_percent,
        }
    }
}

impl Load {
    /// One line for the log: each process's CPU seconds and the machine's
    /// busy share.
    pub(crate) fn describe(&self) -> String {
        let busy = match &self.busy_percent {
            Ok(b) => format!("{b:.0} %"),
            Err(why) => format!("n/a ({why})"),
        };
        format!(
            "kube-apiserver {:.1} s, etcd {:.1} s, kube-controller-manager {:.1} s; machine busy {busy}",
            self.apiserver, self.etcd, self.controller_manager
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spent_is_the_difference_and_never_negative() {
        let at = |parts, busy, total| Sample {
            parts,
            machine: Some(MachineCpu { busy, total }),
        };
        let before = at([10.0, 2.0, 5.0], 100.0, 200.0);
        // etcd restarted in between: its count began again.
        let after = at([14.5, 1.0, 5.5], 115.0, 220.0);
        let load = before.until(&after);
        assert_eq!(load.apiserver, 4.5);
        assert_eq!(load.etcd, 0.0);
        assert_eq!(load.controller_manager, 0.5);
        assert_eq!(load.busy_percent, Ok(75.0));
        assert_eq!(
            load.describe(),
            "kube-apiserver 4.5 s, etcd 0.0 s, kube-controller-manager 0.5 s; machine busy 75 %"
        );
    }
}
