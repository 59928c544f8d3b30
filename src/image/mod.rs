//! The image layer: a database bound to the model that makes its codes. It sits on
//! [`Database`](crate::Database) and [`Encoder`](crate::Encoder), which know nothing of each
//! other.
//!
//! - `binding`: the model record a database is created with, and [`ModelBinding`], the check
//!   (once per operation) that an encoder is that model.
//! - `ingest`: images in: parallel decoders, batched inference, the single writer.
//! - `search`: images as queries: one forward pass gives the code and the predicted class.
//! - [`eval`]: retrieval quality (mAP, precision@10, accuracy) against labelled queries.

mod binding;
pub mod eval;
pub mod ingest;
mod search;

pub use binding::{create_for_model, create_for_model_with, ModelBinding, ModelRecord};
pub use ingest::{
    ImageSource, IngestError, IngestOptions, IngestProgress, IngestReport, ItemFailure,
    MAX_BATCH_SIZE, MAX_DECODE_THREADS,
};
pub use search::{ImageQueryResult, Rank, Reach};
