//! How many threads a batched call may use: a process-wide budget of one token per core.
//!
//! A batched search or a dedup asked for "as many threads as help" (`threads = 0`) takes the
//! free tokens, up to what its work can use, and gives them back when it ends. So callers that
//! already run their own threads (a server answering requests in parallel, several Ray actors
//! in one process) do not multiply into cores x calls threads: the second of two concurrent
//! calls on two cores finds the budget taken and runs on its caller's thread alone. An explicit
//! thread count is the caller's decision and is honoured as given, outside the budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Most threads one call starts, explicit or not.
pub const MAX_THREADS: usize = 256;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |c| c.get()))
}

/// A caller's `threads` argument checked: 0 (automatic) up to [`MAX_THREADS`].
pub(crate) fn check(requested: usize) -> crate::Result<()> {
    if requested > MAX_THREADS {
        return Err(crate::Error::param(
            "threads",
            format!("{requested} is out of range 0..={MAX_THREADS} (0 = automatic)"),
        ));
    }
    Ok(())
}

/// Threads granted to one call; returns its budget tokens when dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    threads: usize,
    tokens: usize,
    pool: &'static AtomicUsize,
}

impl Lease {
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.tokens > 0 {
            self.pool.fetch_sub(self.tokens, Ordering::AcqRel);
        }
    }
}

/// Threads for a call that asked for `requested` (0 = automatic) and whose work splits into
/// at most `useful` parts. Always at least 1: the caller's own thread runs even when the
/// budget is spent.
pub(crate) fn lease(requested: usize, useful: usize) -> Lease {
    lease_from(&IN_USE, cores(), requested, useful)
}

fn lease_from(pool: &'static AtomicUsize, cores: usize, requested: usize, useful: usize) -> Lease {
    let useful = useful.clamp(1, MAX_THREADS);
    if requested > 0 {
        return Lease {
            threads: requested.min(useful),
            tokens: 0,
            pool,
        };
    }
    let want = useful.min(cores);
    let mut taken = 0;
    let _ = pool.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
        taken = want.min(cores.saturating_sub(used));
        (taken > 0).then_some(used + taken)
    });
    Lease {
        threads: taken.max(1),
        tokens: taken,
        pool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_counts_are_honoured_outside_the_budget() {
        static POOL: AtomicUsize = AtomicUsize::new(0);
        assert_eq!(lease_from(&POOL, 2, 3, 100).threads(), 3);
        assert_eq!(
            lease_from(&POOL, 2, 3, 2).threads(),
            2,
            "never more threads than parts"
        );
        assert_eq!(lease_from(&POOL, 2, 1000, 1000).threads(), MAX_THREADS);
        assert_eq!(POOL.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn automatic_leases_share_the_cores_and_give_them_back() {
        static POOL: AtomicUsize = AtomicUsize::new(0);
        let small = lease_from(&POOL, 4, 0, 1);
        assert_eq!(small.threads(), 1);
        let big = lease_from(&POOL, 4, 0, 100);
        assert_eq!(big.threads(), 3, "what the first left");
        let starved = lease_from(&POOL, 4, 0, 100);
        assert_eq!(starved.threads(), 1, "the caller's own thread");
        assert_eq!(POOL.load(Ordering::Relaxed), 4);
        drop(big);
        drop(starved);
        assert_eq!(POOL.load(Ordering::Relaxed), 1);
        assert_eq!(lease_from(&POOL, 4, 0, 100).threads(), 3);
        drop(small);
        assert_eq!(POOL.load(Ordering::Relaxed), 0);
    }
}
