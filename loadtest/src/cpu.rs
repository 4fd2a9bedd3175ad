//! CPU time of the server (from /proc/PID/stat) and of this process (getrusage), and the
//! server's resident memory (from /proc/PID/status).

use std::time::Duration;

use crate::stats::ServerMemory;

/// Clock ticks per second for /proc stat fields.
fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as f64
    } else {
        100.0
    }
}

/// utime+stime of process `pid`, from /proc/PID/stat fields 14 and 15.
pub fn process_cpu(pid: u32) -> std::io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu(&text, clk_tck()).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "unparsable /proc/PID/stat")
    })
}

/// Parses utime+stime from a stat line; the command name may contain spaces and ')' so
/// fields are counted after the last ')'.
pub fn parse_stat_cpu(text: &str, ticks_per_s: f64) -> Option<Duration> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    // After ')' come field 3 (state) onwards; utime is field 14, stime 15.
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks_per_s,
    ))
}

/// Resident memory of process `pid` (`VmRSS`, `VmHWM`).
pub fn process_memory(pid: u32) -> std::io::Result<ServerMemory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_memory(&text).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no VmRSS/VmHWM in /proc/PID/status",
        )
    })
}

/// Parses `VmRSS:` and `VmHWM:` (kB) from a status file.
pub fn parse_status_memory(text: &str) -> Option<ServerMemory> {
    let kib = |key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].split_whitespace().next()?.parse().ok()
    };
    Some(ServerMemory {
        rss_bytes: kib("VmRSS:")? * 1024,
        rss_peak_bytes: kib("VmHWM:")? * 1024,
    })
}

/// This process's user+system CPU time.
pub fn self_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0";
        assert_eq!(parse_stat_cpu(line, 100.0), Some(Duration::from_secs(2)));
    }

    #[test]
    fn this_process_has_a_readable_stat() {
        assert!(process_cpu(std::process::id()).is_ok());
    }

    #[test]
    fn status_memory_is_read_in_bytes() {
        let text = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(
            parse_status_memory(text),
            Some(ServerMemory {
                rss_bytes: 1024 * 1024,
                rss_peak_bytes: 2048 * 1024
            })
        );
        assert_eq!(parse_status_memory("Name:\tx\n"), None);
        let own = process_memory(std::process::id()).unwrap();
        assert!(own.rss_peak_bytes >= own.rss_bytes && own.rss_bytes > 0);
    }
}
