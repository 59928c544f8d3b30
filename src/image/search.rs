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
        self.search_encoded(e, reach, class)
    }

    /// [`ModelBinding::search_image_reach`] for any [`ImageSource`] (a path, bytes, or a
    /// caller's decoded pixels).
    pub fn search_source(
        &self,
        source: &ImageSource,
        reach: Reach,
        class: Option<u32>,
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
        self.search_encoded(e, reach, class)
    }

    fn search_encoded(
        &self,
        e: Encoded,
        reach: Reach,
        class: Option<u32>,
    ) -> Result<ImageQueryResult> {
        let snap = self.database().snapshot();
        let result = match reach {
            Reach::Nearest(k) => snap.search(&e.code, k, class)?,
            Reach::Radius(r) => snap.search_radius(&e.code, r, class)?,
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
