//! Bounded top-k collection for search results ordered by (distance, id).
//!
//! A candidate is a `u64` key `distance << 32 | row`, so one integer compare orders by distance
//! and breaks ties by ascending row: results are deterministic. Offers below the current k-th
//! key go into a buffer; when the buffer reaches 2k it is cut back to the best k with a linear
//! selection, so the amortised cost per accepted candidate is O(1) and there is no per-offer
//! heap traffic. Kernels only call back for distances `<= limit()`, so most codes never get here.

#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    buf: Vec<u64>,
    /// Keys `>= worst` cannot enter; `u64::MAX` until k keys have been seen.
    worst: u64,
}

#[inline]
pub(crate) fn key(distance: u32, row: u32) -> u64 {
    (distance as u64) << 32 | row as u64
}

impl TopK {
    pub fn new(k: usize) -> Self {
        assert!(k > 0, "k = 0 is handled by callers");
        Self {
            k,
            buf: Vec::with_capacity(2 * k.min(1 << 16)),
            worst: u64::MAX,
        }
    }

    /// Distances above this cannot enter the result.
    #[inline]
    pub fn limit(&self) -> u32 {
        (self.worst >> 32) as u32
    }

    /// The distance limit for a caller that offers rows in ascending order: once full, a later
    /// row tying the k-th distance has a larger id than every held row and cannot enter, so
    /// only strictly smaller distances need a callback. Tie-heavy data (clustered codes, many
    /// duplicates) otherwise floods the callback with candidates that are all rejected.
    #[inline]
    pub fn limit_ascending(&self) -> u32 {
        if self.is_full() {
            self.limit().saturating_sub(1)
        } else {
            u32::MAX
        }
    }

    /// True if `(distance, row)` cannot enter (the collector is full and its k-th key is
    /// smaller).
    #[inline]
    pub fn rejects(&self, row: u32, distance: u32) -> bool {
        key(distance, row) >= self.worst
    }

    /// True once k candidates are held.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.worst != u64::MAX
    }

    /// The k-th best distance so far, once full.
    #[inline]
    pub fn kth_distance(&self) -> Option<u32> {
        self.is_full().then(|| self.limit())
    }

    /// Offer a candidate; returns the new distance limit. Each row must be offered at most once.
    #[inline]
    pub fn offer(&mut self, row: u32, distance: u32) -> u32 {
        let key = key(distance, row);
        if key < self.worst {
            self.buf.push(key);
            if self.buf.len() == self.k && self.worst == u64::MAX {
                self.worst = *self.buf.iter().max().expect("k > 0");
            } else if self.buf.len() >= 2 * self.k {
                self.shrink();
            }
        }
        self.limit()
    }

    fn shrink(&mut self) {
        let k = self.k;
        self.buf.select_nth_unstable(k - 1);
        self.buf.truncate(k);
        self.worst = self.buf[k - 1];
        // After select_nth, buf[k-1] is the k-th smallest and everything before is <= it.
        debug_assert!(self.buf.iter().all(|&x| x <= self.worst));
    }

    /// The best k as (distance, row), ascending.
    pub fn into_sorted(mut self) -> Vec<(u32, u32)> {
        self.buf.sort_unstable();
        self.buf.truncate(self.k);
        self.buf
            .into_iter()
            .map(|key| ((key >> 32) as u32, key as u32))
            .collect()
    }

    /// Merge another collector's candidates (rows must be disjoint).
    pub fn merge(&mut self, other: TopK) {
        for (d, row) in other.into_sorted() {
            self.offer(row, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_smallest_with_ties_by_row() {
        let mut t = TopK::new(3);
        let items = [
            (5, 0),
            (3, 1),
            (3, 2),
            (9, 3),
            (1, 4),
            (3, 5),
            (0, 6),
            (3, 7),
        ];
        for (d, r) in items {
            t.offer(r, d);
        }
        assert_eq!(t.into_sorted(), vec![(0, 6), (1, 4), (3, 1)]);
    }

    #[test]
    fn matches_full_sort_on_many_items() {
        for k in [1, 2, 7, 50] {
            let mut t = TopK::new(k);
            let mut all = Vec::new();
            for r in 0..1000u32 {
                let d = (r.wrapping_mul(2654435761) >> 7) % 40;
                if d <= t.limit() {
                    t.offer(r, d);
                }
                all.push((d, r));
            }
            all.sort();
            all.truncate(k);
            assert_eq!(t.into_sorted(), all);
        }
    }
}
