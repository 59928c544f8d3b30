//! Retrieval quality of a model-bound database: labelled query images against the labelled
//! images in the database, as mean average precision (mAP), precision@10 and the model's
//! classification accuracy on the queries (what `hamdb eval` prints).
//!
//! Two layers:
//! - [`score_ranking`]: the metric alone. One query's ranking, as relevance flags best first,
//!   gives its average precision and precision@10. No database, no model.
//! - [`evaluate`]: a [`ModelBinding`] and a labelled query set give an [`EvalReport`]: it walks
//!   the database once to label every item, encodes each query, ranks the database by the
//!   query's code and averages [`score_ranking`] over the queries.
//!
//! Items are matched to labels and to queries by file: an item's payload is the path it was
//! inserted from ([`ImageSource::Path`](super::ImageSource::Path)), and two paths name the
//! same file when they canonicalise to the same path (or, for a path that cannot be
//! canonicalised, are equal as given).

use super::binding::ModelBinding;
use crate::code::Code;
use crate::error::{Error, Result};
use crate::storage::{Hit, Snapshot};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How much of the database each query ranks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalOptions {
    /// Rank only the `k` nearest items (the query's own image not among them): AP then
    /// divides by the relevant items found in the top `k` (mAP@k, as DPSH reports it).
    /// `None`, or a `k` of at least the number of items, ranks every item: AP divides by
    /// every relevant item in the database. A `k` of 0 is taken as 1.
    pub k: Option<usize>,
}

/// What [`evaluate`] measured. `map`, `precision_at_10` and `accuracy` are means over the
/// queries, each in `0.0..=1.0`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Queries evaluated.
    pub queries: usize,
    /// Items in the database snapshot ranked.
    pub items: usize,
    /// `Some(k)`: each query ranked its top `k` items; `None`: the full ranking.
    pub k: Option<usize>,
    /// Mean average precision.
    pub map: f64,
    /// Mean precision over each query's first 10 ranks (over all of its ranks when fewer).
    pub precision_at_10: f64,
    /// The share of queries whose predicted class is their label.
    pub accuracy: f64,
    /// mAP of the class-aware ranking ([`Snapshot::search_class_first`]): items whose stored
    /// label is the query's *predicted* class first, then the rest, each group by (distance,
    /// id). Relevance is still the query's true label.
    pub map_class_first: f64,
    /// Precision@10 of the class-aware ranking.
    pub precision_at_10_class_first: f64,
    /// Wall-clock time of the evaluation (database walk, encoding, ranking).
    pub seconds: f64,
    /// Database items with no label (they count as irrelevant to every query).
    pub unlabelled_items: usize,
    /// Queries with no database item of their label other than their own image (their AP
    /// counts as 0).
    pub queries_without_relevant: usize,
}

impl EvalReport {
    /// "full ranking" or "top K".
    pub fn scope(&self) -> String {
        match self.k {
            None => "full ranking".to_string(),
            Some(k) => format!("top {k}"),
        }
    }

    /// Queries evaluated per second of [`seconds`](Self::seconds).
    pub fn queries_per_s(&self) -> f64 {
        self.queries as f64 / self.seconds
    }
}

/// One database item in a query's ranking, as [`score_ranking`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranked {
    /// An item with the query's label.
    Relevant,
    /// An item with another label, or with none.
    Irrelevant,
    /// The query's own image: left out of the ranking (the ranks after it close up).
    Query,
}

/// Where a ranking stops, and what average precision divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The ranking holds every item in the database: AP divides by `relevant`, the number of
    /// relevant items in the database other than the query's own image.
    Full { relevant: usize },
    /// Only the first `k` ranks count (the query's own image not among them): AP divides by
    /// the relevant items found there.
    Top(usize),
}

/// One query's scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryScore {
    /// Average precision: the mean, over the relevant items (see [`Cut`]), of the precision
    /// at each relevant item's rank; 0 with nothing to divide by.
    pub average_precision: f64,
    /// Relevant items among the first 10 ranks, over 10 (over the number of ranks when
    /// fewer; 0 for an empty ranking).
    pub precision_at_10: f64,
    /// Ranks counted (the query's own image and anything past the cut left out).
    pub ranked: usize,
    /// Relevant items among them.
    pub relevant_found: usize,
}

/// Average precision and precision@10 of one query's ranking: `ranking` is the database
/// items best first, [`Ranked::Query`] marking the query's own image (skipped).
///
/// ```
/// use hamdb::image::eval::{score_ranking, Cut, Ranked::*};
/// // Relevant at ranks 1 and 3 of 4, 2 relevant items in all: AP = (1/1 + 2/3) / 2.
/// let ranking = [Relevant, Irrelevant, Query, Relevant, Irrelevant];
/// let s = score_ranking(ranking, Cut::Full { relevant: 2 });
/// assert!((s.average_precision - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
/// assert_eq!(s.precision_at_10, 2.0 / 4.0);
/// ```
pub fn score_ranking(ranking: impl IntoIterator<Item = Ranked>, cut: Cut) -> QueryScore {
    let limit = match cut {
        Cut::Full { .. } => usize::MAX,
        Cut::Top(k) => k,
    };
    let (mut rank, mut found, mut top10) = (0usize, 0usize, 0usize);
    let mut precision_sum = 0.0;
    for r in ranking {
        if r == Ranked::Query {
            continue;
        }
        if rank == limit {
            break;
        }
        rank += 1;
        if r == Ranked::Relevant {
            found += 1;
            precision_sum += found as f64 / rank as f64;
            if rank <= 10 {
                top10 += 1;
            }
        }
    }
    let denominator = match cut {
        Cut::Full { relevant } => relevant,
        Cut::Top(_) => found,
    };
    QueryScore {
        average_precision: if denominator > 0 {
            precision_sum / denominator as f64
        } else {
            0.0
        },
        precision_at_10: top10 as f64 / 10f64.min(rank.max(1) as f64),
        ranked: rank,
        relevant_found: found,
    }
}

/// Labels keyed by file, for [`evaluate`]'s `item_labels`: each path canonicalised the way
/// items' paths are (a path that cannot be canonicalised is kept as given). A file listed
/// twice keeps its last label.
pub fn labels_by_file<P: AsRef<Path>>(rows: &[(P, u32)]) -> HashMap<PathBuf, u32> {
    rows.iter()
        .map(|(p, l)| (canonical(p.as_ref()), *l))
        .collect()
}

/// Evaluate retrieval on `images`' database with labelled query images.
///
/// - `queries`: (image file, true label). Each is encoded with the bound model; its
///   predicted class counts towards [`EvalReport::accuracy`], and its code ranks the
///   database by (Hamming distance, id), its own image (the same file, if it is in the
///   database) left out.
/// - `item_labels`: the label of a database item, given the item's file (its payload read as
///   a path, canonicalised; see [`labels_by_file`]), or `None`. Called once per distinct
///   file. An item is relevant to a query when their labels are equal; unlabelled items are
///   irrelevant to every query (counted in [`EvalReport::unlabelled_items`]).
///
/// The database is ranked in one snapshot taken at the start.
///
/// # Errors
/// - [`Error::InvalidParameter`] `queries`: no queries ("there is no labelled query to
///   evaluate"), or a query image that cannot be read, decoded or encoded (the message
///   names the file, then the cause).
/// - [`Error::InvalidParameter`] `images`: the database is empty ("the database is empty:
///   nothing to rank").
/// - [`Error::InvalidParameter`] `item_labels`: no database item has a label ("none of the N
///   database items has a label"): every AP would be 0.
/// - Search and runtime errors as they come.
pub fn evaluate<P: AsRef<Path>>(
    images: &ModelBinding<'_>,
    queries: &[(P, u32)],
    item_labels: impl Fn(&Path) -> Option<u32>,
    options: &EvalOptions,
) -> Result<EvalReport> {
    if queries.is_empty() {
        return Err(Error::param(
            "queries",
            "there is no labelled query to evaluate",
        ));
    }
    let db = images.database();
    let snap = db.snapshot();
    let start = Instant::now();
    let walk = ItemFiles::walk(&snap, db.code_len().bytes(), item_labels)?;
    let cut = walk.cut(options);
    let mut tally = Tally::default();
    for (path, label) in queries {
        let path = path.as_ref();
        let e = images
            .encoder()
            .encode_file(path)
            .map_err(|e| query_error(path, e))?;
        let (score, relevant) = walk.score_query(&snap, &e.code, path, *label, cut, None)?;
        let (first, _) = walk.score_query(&snap, &e.code, path, *label, cut, Some(e.class))?;
        tally.add(&score, &first, relevant, e.class == *label);
    }
    Ok(tally.report(&walk, cut, start.elapsed().as_secs_f64()))
}

/// A query image's own fault (cannot be read, decoded or run), named by its file; other
/// errors (the runtime, the database) as they are.
fn query_error(path: &Path, e: Error) -> Error {
    match e {
        Error::Io { .. }
        | Error::Image { .. }
        | Error::ImageTooLarge { .. }
        | Error::Inference { .. } => Error::param("queries", format!("{}: {e}", path.display())),
        e => e,
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Every item of a snapshot by file, read once so that ranking does no file-system calls.
struct ItemFiles {
    items: usize,
    /// Item id -> its file (an index into `files`).
    file_of: HashMap<u64, usize>,
    /// Canonical path -> index into `files`.
    index: HashMap<PathBuf, usize>,
    /// Per distinct file: how many items hold it, and its label.
    files: Vec<(usize, Option<u32>)>,
    /// Labelled items per label.
    relevant: HashMap<u32, usize>,
    labelled: usize,
}

impl ItemFiles {
    fn walk(
        snap: &Snapshot,
        code_bytes: usize,
        item_labels: impl Fn(&Path) -> Option<u32>,
    ) -> Result<Self> {
        let items = snap.len() as usize;
        if items == 0 {
            return Err(Error::param(
                "images",
                "the database is empty: nothing to rank",
            ));
        }
        let mut w = ItemFiles {
            items,
            file_of: HashMap::with_capacity(items),
            index: HashMap::with_capacity(items),
            files: Vec::with_capacity(items),
            relevant: HashMap::new(),
            labelled: 0,
        };
        // Radius = every bit reaches every item.
        let any = Code::from_bytes(&vec![0u8; code_bytes])?;
        for hit in snap.search_radius(&any, u32::MAX, None)?.hits {
            let path = canonical(Path::new(&*String::from_utf8_lossy(&hit.payload)));
            let f = match w.index.get(&path) {
                Some(&f) => f,
                None => {
                    w.files.push((0, item_labels(&path)));
                    w.index.insert(path, w.files.len() - 1);
                    w.files.len() - 1
                }
            };
            w.files[f].0 += 1;
            if let Some(l) = w.files[f].1 {
                *w.relevant.entry(l).or_default() += 1;
                w.labelled += 1;
            }
            w.file_of.insert(hit.id, f);
        }
        if w.labelled == 0 {
            return Err(Error::param(
                "item_labels",
                format!("none of the {items} database items has a label"),
            ));
        }
        Ok(w)
    }

    /// The ranking's cut for these options: a `k` of at least the item count is the full
    /// ranking (its `relevant` is filled in per query).
    fn cut(&self, options: &EvalOptions) -> Cut {
        match options.k.map(|k| k.max(1)) {
            Some(k) if k < self.items => Cut::Top(k),
            _ => Cut::Full { relevant: 0 },
        }
    }

    /// One query's ranking scored, and the number of items relevant to it (its own image
    /// left out). `class_first`: rank the items of this class first (the query's predicted
    /// class; [`Snapshot::search_class_first`]), else by distance alone.
    fn score_query(
        &self,
        snap: &Snapshot,
        code: &Code,
        path: &Path,
        label: u32,
        cut: Cut,
        class_first: Option<u32>,
    ) -> Result<(QueryScore, usize)> {
        let own = self.index.get(&canonical(path)).copied();
        let own_relevant = own.map_or(0, |f| match self.files[f] {
            (n, Some(l)) if l == label => n,
            _ => 0,
        });
        let relevant = self.relevant.get(&label).copied().unwrap_or(0) - own_relevant;
        // Every copy of the query's own file is skipped, so the top k + copies hold k others.
        let (cut, fetch) = match cut {
            Cut::Full { .. } => (Cut::Full { relevant }, self.items),
            Cut::Top(k) => {
                let copies = own.map_or(0, |f| self.files[f].0);
                (Cut::Top(k), k.saturating_add(copies).min(self.items))
            }
        };
        let hits = match class_first {
            None => snap.search(code, fetch, None)?.hits,
            Some(c) => snap.search_class_first(code, fetch, c)?.hits,
        };
        let score = score_ranking(self.ranking(&hits, own, label), cut);
        Ok((score, relevant))
    }

    /// Hits as relevance flags; a hit the walk did not see (none, in one snapshot) is left
    /// out.
    fn ranking<'h>(
        &'h self,
        hits: &'h [Hit],
        own: Option<usize>,
        label: u32,
    ) -> impl Iterator<Item = Ranked> + 'h {
        hits.iter().filter_map(move |h| {
            let f = *self.file_of.get(&h.id)?;
            Some(if Some(f) == own {
                Ranked::Query
            } else if self.files[f].1 == Some(label) {
                Ranked::Relevant
            } else {
                Ranked::Irrelevant
            })
        })
    }
}

/// Sums over the queries, in query order.
#[derive(Default)]
struct Tally {
    queries: usize,
    ap_sum: f64,
    p10_sum: f64,
    first_ap_sum: f64,
    first_p10_sum: f64,
    correct: usize,
    without_relevant: usize,
}

impl Tally {
    fn add(&mut self, score: &QueryScore, first: &QueryScore, relevant: usize, correct: bool) {
        self.queries += 1;
        self.ap_sum += score.average_precision;
        self.p10_sum += score.precision_at_10;
        self.first_ap_sum += first.average_precision;
        self.first_p10_sum += first.precision_at_10;
        self.correct += correct as usize;
        self.without_relevant += (relevant == 0) as usize;
    }

    fn report(&self, walk: &ItemFiles, cut: Cut, seconds: f64) -> EvalReport {
        let n = self.queries as f64;
        EvalReport {
            queries: self.queries,
            items: walk.items,
            k: match cut {
                Cut::Full { .. } => None,
                Cut::Top(k) => Some(k),
            },
            map: self.ap_sum / n,
            precision_at_10: self.p10_sum / n,
            accuracy: self.correct as f64 / n,
            map_class_first: self.first_ap_sum / n,
            precision_at_10_class_first: self.first_p10_sum / n,
            seconds,
            unlabelled_items: walk.items - walk.labelled,
            queries_without_relevant: self.without_relevant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ranked::{Irrelevant as I, Query as Q, Relevant as R};
    use super::*;
    use crate::storage::{CreateOptions, Database, WriteBatch};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Relevant at every other rank of 12: precisions 1/1, 2/3, 3/5, 4/7, 5/9, 6/11.
    #[test]
    fn alternating_ranking_full() {
        let ranking: Vec<Ranked> = (0..12).map(|i| if i % 2 == 0 { R } else { I }).collect();
        let s = score_ranking(ranking.iter().copied(), Cut::Full { relevant: 6 });
        let ap = (1.0 + 2.0 / 3.0 + 3.0 / 5.0 + 4.0 / 7.0 + 5.0 / 9.0 + 6.0 / 11.0) / 6.0;
        assert!(close(s.average_precision, ap), "{s:?}");
        assert!((s.average_precision - 0.656518).abs() < 1e-6, "{s:?}");
        assert_eq!(s.precision_at_10, 0.5); // 5 of the first 10
        assert_eq!((s.ranked, s.relevant_found), (12, 6));
        // The full ranking divides by every relevant item, found or not: 6 more that the
        // ranking never reached halve AP.
        let s2 = score_ranking(ranking.iter().copied(), Cut::Full { relevant: 12 });
        assert!(close(s2.average_precision, ap / 2.0), "{s2:?}");
    }

    #[test]
    fn the_query_itself_is_skipped() {
        // Its own image first (distance 0): the ranks close up, as if it were not there.
        let with = score_ranking([Q, R, I, R, I], Cut::Full { relevant: 2 });
        let without = score_ranking([R, I, R, I], Cut::Full { relevant: 2 });
        assert_eq!(with, without);
        assert!(close(with.average_precision, (1.0 + 2.0 / 3.0) / 2.0));
        assert_eq!(with.precision_at_10, 2.0 / 4.0);
        // In the middle: the relevant item after it is at rank 2, not 3.
        let s = score_ranking([I, Q, R], Cut::Full { relevant: 1 });
        assert!(close(s.average_precision, 0.5), "{s:?}");
        assert_eq!(s.ranked, 2);
        // And it is not one of the top k.
        let s = score_ranking([R, Q, I, R, R], Cut::Top(3));
        assert_eq!((s.ranked, s.relevant_found), (3, 2));
        assert!(close(s.average_precision, (1.0 + 2.0 / 3.0) / 2.0), "{s:?}");
        assert!(close(s.precision_at_10, 2.0 / 3.0), "{s:?}");
    }

    #[test]
    fn top_k_divides_by_the_relevant_found() {
        // [I, R] and 2 relevant in the database: full ranking (1/2)/2, top 2 (1/2)/1.
        let full = score_ranking([I, R], Cut::Full { relevant: 2 });
        let top = score_ranking([I, R], Cut::Top(2));
        assert!(close(full.average_precision, 0.25), "{full:?}");
        assert!(close(top.average_precision, 0.5), "{top:?}");
        // Only the first k ranks count: the relevant items at ranks 4 and 5 do not.
        let s = score_ranking([R, I, I, R, R], Cut::Top(3));
        assert!(close(s.average_precision, 1.0), "{s:?}");
        assert!(close(s.precision_at_10, 1.0 / 3.0), "{s:?}");
        assert_eq!((s.ranked, s.relevant_found), (3, 1));
        // Nothing relevant found: AP 0.
        let s = score_ranking([I, I, I, R], Cut::Top(3));
        assert_eq!((s.average_precision, s.precision_at_10), (0.0, 0.0));
    }

    #[test]
    fn precision_at_10() {
        let r = |n: usize, x: Ranked| std::iter::repeat_n(x, n);
        // Only the first 10 count.
        let s = score_ranking(r(10, I).chain(r(5, R)), Cut::Full { relevant: 5 });
        assert_eq!(s.precision_at_10, 0.0);
        let s = score_ranking(r(3, R).chain(r(20, I)), Cut::Full { relevant: 3 });
        assert!(close(s.precision_at_10, 0.3), "{s:?}");
        assert!(close(s.average_precision, 1.0), "{s:?}");
        // Fewer than 10 ranks: over the ranks there are (the query's own image not one).
        let s = score_ranking([Q, R, I, R, I], Cut::Top(10));
        assert_eq!(s.precision_at_10, 0.5);
        // A top-5 cut given a longer ranking (a query not in the database, fetched one
        // further in case it were): over the 5 ranks counted, not the 6 fetched.
        let s = score_ranking([R, R, R, R, R, I], Cut::Top(5));
        assert_eq!((s.precision_at_10, s.ranked), (1.0, 5));
        // Nothing ranked at all (the database held only the query): 0, not NaN.
        let s = score_ranking([Q], Cut::Full { relevant: 0 });
        assert_eq!(
            (s.average_precision, s.precision_at_10, s.ranked),
            (0.0, 0.0, 0)
        );
    }

    fn temp_db(tag: &str) -> (PathBuf, Database) {
        let dir = std::env::temp_dir().join(format!("hamdb-eval-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = Database::create(
            dir.join("e.hamdb"),
            CreateOptions {
                code_bits: 8,
                fingerprint: vec![],
                expected_radius: None,
            },
        )
        .unwrap();
        (dir, db)
    }

    fn code(b: u8) -> Code {
        Code::from_bytes(&[b]).unwrap()
    }

    /// The database walk and the ranking by code, without a model: items by (code, file),
    /// labels by file; the query's own file is skipped however it is spelt.
    #[test]
    fn database_walk_labels_items_and_skips_the_query() {
        let (dir, db) = temp_db("walk");
        let f = |name: &str| dir.join(name);
        std::fs::write(f("a.png"), b"").unwrap();
        // Distances from the query code 0x00: a 0, b 1, c 2, d 3, e 4 (ids in that order).
        // Stored labels (what the class-aware ranking reads) as the true ones, d none.
        let items = [
            (0x00, "a.png", Some(1)),
            (0x01, "b.png", Some(2)),
            (0x03, "c.png", Some(1)),
            (0x07, "d.png", None),
            (0x0f, "e.png", Some(1)),
        ];
        let mut b = WriteBatch::new();
        for (id, (c, name, stored)) in items.iter().enumerate() {
            let payload = f(name).to_string_lossy().into_owned();
            b.insert(id as u64, code(*c), *stored, payload);
        }
        db.commit(b).unwrap();
        // a, c, e are class 1; b class 2; d unlabelled.
        let labels = labels_by_file(&[
            (f("a.png"), 1),
            (f("b.png"), 2),
            (f("c.png"), 1),
            (f("e.png"), 1),
        ]);
        let snap = db.snapshot();
        let walk = ItemFiles::walk(&snap, 1, |p| labels.get(p).copied()).unwrap();
        assert_eq!((walk.items, walk.labelled), (5, 4));

        // The query is a.png, named through "./" (the same file): a skipped, then
        // [I(b), R(c), I(d), R(e)], 2 relevant others.
        let query = dir.join(".").join("a.png");
        let full = walk.cut(&EvalOptions::default());
        let (s, relevant) = walk
            .score_query(&snap, &code(0), &query, 1, full, None)
            .unwrap();
        assert_eq!(relevant, 2);
        assert!(
            close(s.average_precision, (1.0 / 2.0 + 2.0 / 4.0) / 2.0),
            "{s:?}"
        );
        assert_eq!((s.ranked, s.precision_at_10), (4, 0.5));
        // Class-aware, predicted class 1: [R(c), R(e)] then [I(b), I(d)]: AP 1.
        let (s, _) = walk
            .score_query(&snap, &code(0), &query, 1, full, Some(1))
            .unwrap();
        assert!(close(s.average_precision, 1.0), "{s:?}");
        assert_eq!((s.ranked, s.precision_at_10), (4, 0.5));
        // A wrong prediction (class 2) puts b first: [I(b)] then [R(c), I(d), R(e)].
        let (s, _) = walk
            .score_query(&snap, &code(0), &query, 1, full, Some(2))
            .unwrap();
        assert!(
            close(s.average_precision, (1.0 / 2.0 + 2.0 / 4.0) / 2.0),
            "{s:?}"
        );
        // Top 2, class-aware: [R(c), R(e)].
        let (s, _) = walk
            .score_query(&snap, &code(0), &query, 1, Cut::Top(2), Some(1))
            .unwrap();
        assert!(close(s.average_precision, 1.0), "{s:?}");
        assert_eq!(s.precision_at_10, 1.0);
        // k = 2 of 5 items: [I(b), R(c)], AP over the one found.
        let top2 = walk.cut(&EvalOptions { k: Some(2) });
        assert_eq!(top2, Cut::Top(2));
        let (s, _) = walk
            .score_query(&snap, &code(0), &query, 1, top2, None)
            .unwrap();
        assert!(close(s.average_precision, 0.5), "{s:?}");
        assert_eq!((s.ranked, s.precision_at_10), (2, 0.5));
        // A k of at least the item count is the full ranking.
        assert_eq!(
            walk.cut(&EvalOptions { k: Some(5) }),
            Cut::Full { relevant: 0 }
        );
        // A query not in the database: nothing skipped, all 3 class-1 items relevant.
        let (s, relevant) = walk
            .score_query(&snap, &code(0), &f("z.png"), 1, full, None)
            .unwrap();
        assert_eq!(relevant, 3);
        let ap = (1.0 + 2.0 / 3.0 + 3.0 / 5.0) / 3.0;
        assert!(close(s.average_precision, ap), "{s:?}");
        // A label no other item has: no relevant item.
        let (s, relevant) = walk
            .score_query(&snap, &code(0), &query, 7, full, None)
            .unwrap();
        assert_eq!((relevant, s.average_precision), (0, 0.0));

        // The report: unlabelled items, queries without relevant items, means.
        let mut t = Tally::default();
        let (r1, i1) = (
            score_ranking([R], Cut::Full { relevant: 1 }),
            score_ranking([I], Cut::Full { relevant: 0 }),
        );
        t.add(&r1, &r1, 1, true);
        t.add(&i1, &r1, 0, false);
        let r = t.report(&walk, full, 2.0);
        assert_eq!((r.queries, r.items, r.k), (2, 5, None));
        assert_eq!((r.map, r.precision_at_10, r.accuracy), (0.5, 0.5, 0.5));
        assert_eq!(
            (r.map_class_first, r.precision_at_10_class_first),
            (1.0, 1.0)
        );
        assert_eq!((r.unlabelled_items, r.queries_without_relevant), (1, 1));
        assert_eq!((r.scope(), r.queries_per_s()), ("full ranking".into(), 1.0));
        assert_eq!(t.report(&walk, top2, 1.0).scope(), "top 2");
        drop(snap);
        drop(db);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn nothing_to_measure_is_an_error_naming_the_parameter() {
        let (dir, db) = temp_db("empty");
        let snap = db.snapshot();
        match ItemFiles::walk(&snap, 1, |_| Some(0)) {
            Err(Error::InvalidParameter { name, reason }) => {
                assert_eq!(name, "images");
                assert_eq!(reason, "the database is empty: nothing to rank");
            }
            other => panic!("{:?}", other.err()),
        }
        let mut b = WriteBatch::new();
        b.insert(1, code(1), None, "x.png")
            .insert(2, code(2), None, "y.png");
        db.commit(b).unwrap();
        let snap = db.snapshot();
        match ItemFiles::walk(&snap, 1, |_| None) {
            Err(Error::InvalidParameter { name, reason }) => {
                assert_eq!(name, "item_labels");
                assert_eq!(reason, "none of the 2 database items has a label");
            }
            other => panic!("{:?}", other.err()),
        }
        drop((snap, db));
        std::fs::remove_dir_all(&dir).ok();
    }
}
