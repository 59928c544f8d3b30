//! `in_threads`: run jobs on scoped threads, results in job order (`Encoder.encode` splits its
//! work with it; the batch searches use the core's `search_many`).

/// Each job on its own scoped thread; the results in the jobs' order. A panic in a job is a
/// bug (input errors are `Result`s): it is resumed on the calling thread.
pub(crate) fn in_threads<T, F>(jobs: impl IntoIterator<Item = F>) -> Vec<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|job| s.spawn(job)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}
