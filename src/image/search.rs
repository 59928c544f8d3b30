//! Query by image: one forward pass gives the query's code and its predicted class (SSDH's
//! unified classification and retrieval); the code then searches the database like any code.

use super::binding::ModelBinding;
use super::ingest::ImageSource;
use crate::code::Code;
use crate::encoder::Encoded;
use crate::error::{Error, Result};
use crate::storage::QueryResult;

/// The answer to an image query.
#[derive(Debug, Clone)]
pub struct ImageQueryResult {
    /// The query image's code.
    pub code: Code,
    /// Its predicted class, the class's name, and the softmax probability.
    pub class: u32,
    pub class_name: String,
    pub probability: f32,
    /// Neighbours, ascending by (distance, id); `label` is each item's stored class.
    pub result: QueryResult,
}

/// How far to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The k nearest.
    Nearest(usize),
    /// Everything within this Hamming distance.
    Radius(u32),
}

/// How an image query's answer is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rank {
    /// By (Hamming distance, id).
    #[default]
    Distance,
    /// Items whose stored label is the query's predicted class first, then the others, each
    /// group by (distance, id) ([`crate::Snapshot::search_class_first`]). With a class filter
    /// the filter decides (every item is of that class).
    PredictedClassFirst,
}

impl ModelBinding<'_> {
    /// Encode `image` (file bytes) and return its `k` nearest neighbours, only those of
    /// `class` if given.
    pub fn search_image(
        &self,
        image: &[u8],
        k: usize,
        class: Option<u32>,
    ) -> Result<ImageQueryResult> {
        self.search_image_reach(image, Reach::Nearest(k), class)
    }

    /// Encode `image` and search by k-NN or radius.
    pub fn search_image_reach(
        &self,
        image: &[u8],
        reach: Reach,
        class: Option<u32>,
    ) -> Result<ImageQueryResult> {
        let e = self.encoder().encode_image(image)?;
        self.search_encoded(e, reach, class, Rank::Distance)
    }

    /// [`ModelBinding::search_image_reach`] with a choice of ranking.
    pub fn search_image_ranked(
        &self,
        image: &[u8],
        reach: Reach,
        class: Option<u32>,
        rank: Rank,
    ) -> Result<ImageQueryResult> {
        let e = self.encoder().encode_image(image)?;
        self.search_encoded(e, reach, class, rank)
    }

    /// [`ModelBinding::search_image_reach`] for any [`ImageSource`] (a path, bytes, or a
    /// caller's decoded pixels).
    pub fn search_source(
        &self,
        source: &ImageSource,
        reach: Reach,
        class: Option<u32>,
    ) -> Result<ImageQueryResult> {
        self.search_source_ranked(source, reach, class, Rank::Distance)
    }

    /// [`ModelBinding::search_source`] with a choice of ranking.
    pub fn search_source_ranked(
        &self,
        source: &ImageSource,
        reach: Reach,
        class: Option<u32>,
        rank: Rank,
    ) -> Result<ImageQueryResult> {
        let row = source.preprocess(self.encoder())?;
        let e = self
            .encoder()
            .encode_rows(&row, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Inference {
                reason: "the model returned no row".into(),
            })?;
        self.search_encoded(e, reach, class, rank)
    }

    fn search_encoded(
        &self,
        e: Encoded,
        reach: Reach,
        class: Option<u32>,
        rank: Rank,
    ) -> Result<ImageQueryResult> {
        let snap = self.database().snapshot();
        let result = match (reach, class, rank) {
            (Reach::Nearest(k), None, Rank::PredictedClassFirst) => {
                snap.search_class_first(&e.code, k, e.class)?
            }
            (Reach::Radius(r), None, Rank::PredictedClassFirst) => {
                snap.search_radius_class_first(&e.code, r, e.class)?
            }
            (Reach::Nearest(k), _, _) => snap.search(&e.code, k, class)?,
            (Reach::Radius(r), _, _) => snap.search_radius(&e.code, r, class)?,
        };
        Ok(ImageQueryResult {
            class_name: self.record().class_name(e.class).to_owned(),
            code: e.code,
            class: e.class,
            probability: e.probability,
            result,
        })
    }
}
