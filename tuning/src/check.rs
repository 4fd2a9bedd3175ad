//! `linkflow-tuning check`: host settings that limit a data plane, each with the command
//! that fixes it.

use std::fs;

/// One inspected setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was inspected.
    pub name: &'static str,
    /// What was found.
    pub value: String,
    /// Fine as is.
    pub ok: bool,
    /// Advice and the exact command, when not fine.
    pub fix: Option<String>,
}

/// Backlog below which bursts of new connections are dropped by the kernel.
pub const SOMAXCONN_MIN: u64 = 4096;
/// File descriptors a node wants (connections + journal + sockets).
pub const NOFILE_MIN: u64 = 65_536;
/// Locked memory io_uring rings want on older kernels, bytes.
pub const MEMLOCK_MIN_BYTES: u64 = 64 * 1024 * 1024;

fn read_trim(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn rlimit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    // SAFETY: getrlimit writes into the struct we own.
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    (unsafe { libc::getrlimit(resource, &mut r) } == 0).then_some(r.rlim_cur)
}

/// Whether io_uring_setup works here (containers and hardened kernels often forbid it).
fn io_uring_probe() -> Result<(), String> {
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup(1, params) only writes into params; a returned fd is closed.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd >= 0 {
        unsafe { libc::close(fd as i32) };
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// Inspects the host.
pub fn inspect() -> Vec<Finding> {
    let mut out = Vec::new();
    let disabled = read_trim("/proc/sys/kernel/io_uring_disabled");
    let probe = io_uring_probe();
    out.push(Finding {
        name: "io_uring",
        value: match (&probe, &disabled) {
            (Ok(()), _) => "available".into(),
            (Err(e), d) => format!("unavailable ({e}; io_uring_disabled={})", d.as_deref().unwrap_or("n/a")),
        },
        ok: probe.is_ok(),
        fix: probe.is_err().then(|| {
            "enable io_uring: `sudo sysctl -w kernel.io_uring_disabled=0`; in Docker run with `--security-opt seccomp=unconfined` (or a profile allowing io_uring_setup/enter/register)".into()
        }),
    });
    let memlock = rlimit(libc::RLIMIT_MEMLOCK);
    let ok = memlock.is_some_and(|m| m >= MEMLOCK_MIN_BYTES);
    out.push(Finding {
        name: "memlock",
        value: memlock.map_or("unknown".into(), |m| if m == libc::RLIM_INFINITY { "unlimited".into() } else { format!("{} KiB", m / 1024) }),
        ok,
        fix: (!ok).then(|| "raise locked memory: `ulimit -l unlimited` (persist: `echo '* - memlock unlimited' | sudo tee -a /etc/security/limits.conf`; systemd: LimitMEMLOCK=infinity)".into()),
    });
    let somax = read_trim("/proc/sys/net/core/somaxconn").and_then(|s| s.parse::<u64>().ok());
    let ok = somax.is_some_and(|v| v >= SOMAXCONN_MIN);
    out.push(Finding {
        name: "net.core.somaxconn",
        value: somax.map_or("unknown".into(), |v| v.to_string()),
        ok,
        fix: (!ok).then(|| format!("`sudo sysctl -w net.core.somaxconn={SOMAXCONN_MIN}` (persist in /etc/sysctl.d/90-linkflow.conf)")),
    });
    let nofile = rlimit(libc::RLIMIT_NOFILE);
    let ok = nofile.is_some_and(|v| v >= NOFILE_MIN);
    out.push(Finding {
        name: "open files (RLIMIT_NOFILE)",
        value: nofile.map_or("unknown".into(), |v| v.to_string()),
        ok,
        fix: (!ok).then(|| format!("`ulimit -n {NOFILE_MIN}` (systemd: LimitNOFILE={NOFILE_MIN})")),
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    out.push(Finding {
        name: "cores",
        value: cores.to_string(),
        ok: cores >= 2,
        fix: (cores < 2).then(|| {
            "one core: server and load generator will share it; give the VM at least 2 vCPUs".into()
        }),
    });
    let gov = read_trim("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    let ok = gov.as_deref().is_none_or(|g| g == "performance");
    out.push(Finding {
        name: "CPU frequency governor",
        value: gov.clone().unwrap_or_else(|| "not exposed (VM or fixed frequency)".into()),
        ok,
        fix: (!ok).then(|| "`sudo cpupower frequency-set -g performance` (or `echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor`)".into()),
    });
    let thp = read_trim("/sys/kernel/mm/transparent_hugepage/enabled");
    // The active choice is the bracketed word; "always" can add compaction stalls to p99.
    let active = thp
        .as_deref()
        .and_then(|s| s.split('[').nth(1))
        .and_then(|s| s.split(']').next())
        .map(str::to_string);
    let ok = active.as_deref().is_none_or(|a| a != "always");
    out.push(Finding {
        name: "transparent huge pages",
        value: active.unwrap_or_else(|| "unknown".into()),
        ok,
        fix: (!ok).then(|| {
            "`echo madvise | sudo tee /sys/kernel/mm/transparent_hugepage/enabled`".into()
        }),
    });
    out
}

/// Prints findings as a table with fixes.
pub fn render(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!(
            "[{}] {:<28} {}\n",
            if f.ok { " ok " } else { "WARN" },
            f.name,
            f.value
        ));
        if let Some(fix) = &f.fix {
            s.push_str(&format!("       fix: {fix}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_inspected_and_every_warning_has_a_fix() {
        let f = inspect();
        assert_eq!(f.len(), 7);
        assert!(f.iter().all(|x| x.ok || x.fix.is_some()));
        assert!(render(&f).contains("somaxconn"));
    }
}
