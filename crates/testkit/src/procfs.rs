//! A process's CPU time and memory as Linux reports them in `/proc`, for
//! the benchmarks that run a controller (ours or a peer) as a child.

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
