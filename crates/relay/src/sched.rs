//! A scheduling hint for the one thread every publish waits for.
//!
//! The SQLite store commits every message on one writer thread. Its work
//! comes in bursts of about 80 µs, and each burst wakes it while the
//! connection workers (and, on a shared machine, other processes) hold
//! the cores. Linux's EEVDF scheduler (6.12 and later) lets a normal
//! (`SCHED_OTHER`) thread ask for a shorter slice than the default
//! (`sched_attr.sched_runtime`, 0.1-100 ms; 1.4 ms on 2 cores): a thread
//! with a shorter slice gets an earlier deadline, so when it wakes it runs
//! before a thread that has been running, without any privilege and
//! without taking more than its fair share of CPU. Older kernels accept
//! the value and ignore it.
//!
//! Measured in `docs/benchmarks.md` (2026-12-04, "The writer thread's
//! scheduler slice"): at 22,200 deliveries/s, 1.1 times the target, 25
//! alternating runs each way, p99 was over 25 ms in 13 runs before and 6
//! after; at the target on a quiet machine it cost a few ms of p99.

/// The slice the writer thread asks for: the shortest the kernel allows.
pub(crate) const WRITER_SLICE_NS: u64 = 100_000;

/// `struct sched_attr` of `sched_setattr(2)` (the first version, 48 bytes).
#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
}

/// Asks for a scheduler slice of `ns` for the calling thread, keeping its
/// policy, nice value and priority. Only for a thread that is not
/// real-time or deadline-scheduled (there the value means something else:
/// left alone).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn request_slice(ns: u64) -> std::io::Result<()> {
    const SIZE: u32 = std::mem::size_of::<SchedAttr>() as u32;
    let mut attr = SchedAttr::default();
    // SAFETY: `attr` is a live, initialized `sched_attr` of `SIZE` bytes,
    // which the kernel fills (get) or reads (set) for the calling thread
    // (pid 0) and does not keep.
    let got = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut SchedAttr,
            SIZE,
            0,
        )
    };
    if got != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let normal = [libc::SCHED_OTHER, libc::SCHED_BATCH]
        .iter()
        .any(|&p| p as u32 == attr.sched_policy);
    if !normal {
        return Err(std::io::Error::other(format!(
            "scheduling policy {} is not SCHED_OTHER",
            attr.sched_policy
        )));
    }
    attr.size = SIZE;
    attr.sched_flags = 0;
    attr.sched_runtime = ns;
    // SAFETY: as above.
    let set = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if set != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Not Linux: no such hint.
#[cfg(not(target_os = "linux"))]
pub(crate) fn request_slice(_ns: u64) -> std::io::Result<()> {
    Err(std::io::Error::other("scheduler slices are Linux's"))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The kernel's own account of a thread's slice (`se.slice` in
    /// `/proc/thread-self/sched`), where it reports one.
    fn reported_slice() -> Option<u64> {
        let s = std::fs::read_to_string("/proc/thread-self/sched").ok()?;
        let line = s.lines().find(|l| l.starts_with("se.slice"))?;
        line.rsplit(':').next()?.trim().parse().ok()
    }

    /// The calling thread's nice value (field 19 of its `stat`).
    fn nice() -> Option<i64> {
        let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        let fields: Vec<&str> = s.rsplit(')').next()?.split_whitespace().collect();
        fields.get(16)?.parse().ok()
    }

    /// The thread gets the slice it asks for and keeps its nice value.
    #[test]
    #[allow(unsafe_code)]
    fn a_thread_gets_the_slice_it_asks_for() {
        std::thread::spawn(|| {
            // SAFETY: plain FFI calls on the calling thread's own id.
            let niced = unsafe {
                let tid = libc::gettid() as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 3)
            };
            assert_eq!(niced, 0, "raising one's own nice value needs no privilege");
            assert_eq!(nice(), Some(3));
            let before = reported_slice();
            request_slice(WRITER_SLICE_NS).expect("sched_setattr");
            assert_eq!(nice(), Some(3), "the nice value is kept");
            match (before, reported_slice()) {
                (Some(b), Some(after)) => {
                    println!("se.slice {b} ns -> {after} ns");
                    assert_eq!(after, WRITER_SLICE_NS);
                }
                _ => println!("this kernel does not report se.slice; the call succeeded"),
            }
            request_slice(1).expect("a slice under 0.1 ms is raised to it, not refused");
            if let Some(after) = reported_slice() {
                assert_eq!(after, WRITER_SLICE_NS, "the kernel's minimum");
            }
        })
        .join()
        .unwrap();
    }
}
