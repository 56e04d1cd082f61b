//! A process's CPU time and memory, and the machine's CPU time, as Linux
//! reports them in `/proc`, for the benchmarks that run a controller (ours
//! or a peer) as a child.

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU seconds process `pid` has used so far (`None` when it
/// cannot be read: the process is gone).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_of_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Process `pid`'s peak resident set size so far, in MiB (VmHWM).
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmHWM:").map(|kib| kib / 1024.0)
}

/// Process `pid`'s current resident set size, in MiB (VmRSS).
pub fn rss_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmRSS:").map(|kib| kib / 1024.0)
}

/// The whole machine's CPU time so far, from the first line of `/proc/stat`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MachineCpu {
    /// Seconds all cores spent busy (everything but idle and iowait).
    pub busy: f64,
    /// Seconds all cores spent, busy or not.
    pub total: f64,
}

impl MachineCpu {
    /// The machine's CPU time now (`None` when `/proc/stat` cannot be read).
    pub fn now() -> Option<MachineCpu> {
        machine_of_stat(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The share of all cores that was busy between `self` and `later`
    /// (0 to 1).
    pub fn busy_share_until(&self, later: &MachineCpu) -> f64 {
        let total = later.total - self.total;
        if total > 0.0 {
            (later.busy - self.busy) / total
        } else {
            0.0
        }
    }
}

/// The `cpu` line of a `/proc/stat` text: user nice system idle iowait irq
/// softirq steal (guest time is already counted in user).
fn machine_of_stat(stat: &str) -> Option<MachineCpu> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|t| t.parse::<f64>().ok())
        .collect::<Option<_>>()?;
    if ticks.len() < 5 {
        return None;
    }
    let total: f64 = ticks.iter().sum();
    let idle = ticks[3] + ticks[4];
    Some(MachineCpu {
        busy: (total - idle) / TICKS_PER_SECOND,
        total: total / TICKS_PER_SECOND,
    })
}

fn status_kib(pid: u32, field: &str) -> Option<f64> {
    kib_of_status(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        field,
    )
}

/// utime + stime of a `/proc/<pid>/stat` line, in seconds: the 12th and
/// 13th fields after the command name (which is in parentheses and may
/// contain spaces).
fn cpu_of_stat(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

/// The value in KiB of `field` (e.g. `VmHWM:`) in a `/proc/<pid>/status` text.
fn kib_of_status(status: &str, field: &str) -> Option<f64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_time_after_a_command_name_with_spaces() {
        let stat = "42 (my (odd) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1";
        assert_eq!(cpu_of_stat(stat), Some(3.0));
        assert_eq!(cpu_of_stat("42 (short) S 1"), None);
        assert_eq!(cpu_of_stat("no parenthesis"), None);
    }

    #[test]
    fn reads_memory_fields() {
        let status = "Name:\tdriftless\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(kib_of_status(status, "VmHWM:"), Some(51200.0));
        assert_eq!(kib_of_status(status, "VmRSS:"), Some(40960.0));
        assert_eq!(kib_of_status(status, "VmSwap:"), None);
    }

    #[test]
    fn reads_the_machine_line_of_proc_stat() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n";
        let cpu = machine_of_stat(stat).expect("a cpu line");
        assert_eq!(
            cpu,
            MachineCpu {
                busy: 1.5,
                total: 10.0
            }
        );
        let later = MachineCpu {
            busy: 3.5,
            total: 14.0,
        };
        assert_eq!(cpu.busy_share_until(&later), 0.5);
        assert_eq!(machine_of_stat("cpu0 1 2 3 4 5\n"), None);
        assert_eq!(machine_of_stat("cpu  1 2 x 4 5\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(cpu_seconds(me).is_some_and(|s| s >= 0.0));
        // The current size first: the peak read after it is at least that
        // (other tests' threads may grow this process in between).
        let now = rss_mib(me).expect("VmRSS");
        let peak = peak_rss_mib(me).expect("VmHWM");
        assert!(peak > 0.0 && now > 0.0 && now <= peak, "{now} <= {peak}");
    }
}
