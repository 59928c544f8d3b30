//! The native module `hamdb._hamdb`: PyO3 classes over the `hamdb` library, wrapped by the
//! Python package `hamdb` (python/hamdb/__init__.py, stubs in python/hamdb/_hamdb.pyi).
//!
//! Rules every function here follows:
//! - every call that searches, reads, writes, decodes, infers or touches the file runs inside
//!   `py.detach` (the GIL is released; Python threads search in parallel);
//! - numpy code arrays are read in place: the `[N, bits/8]` buffer is borrowed, checked for
//!   dtype, shape and C order, and handed to hamdb as a byte slice (no Python-side copy);
//! - an error becomes the exception class of its C status (errors.rs).
//!
//! One job per file: args (arguments from Python), errors, handle (what close() drops),
//! results (Hit, Item, CommitInfo), batch (WriteBatch), database (Database,
//! create/open/verify), snapshot, search (the searches Database and Snapshot share), encoder
//! (Encoder), sources (images from Python), images (create_for_model, insert_images,
//! search_image), parallel (scoped threads for batches).

mod args;
mod batch;
mod database;
mod encoder;
mod errors;
mod handle;
mod images;
mod parallel;
mod results;
mod search;
mod snapshot;
mod sources;

use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pymodule]
fn _hamdb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<database::Database>()?;
    m.add_class::<snapshot::Snapshot>()?;
    m.add_class::<batch::WriteBatch>()?;
    m.add_class::<results::Hit>()?;
    m.add_class::<results::Item>()?;
    m.add_class::<results::CommitInfo>()?;
    m.add_class::<encoder::Encoder>()?;
    m.add_class::<images::IngestReport>()?;
    m.add_class::<images::ItemFailure>()?;
    m.add_class::<images::ImageQuery>()?;
    m.add_function(wrap_pyfunction!(database::create, m)?)?;
    m.add_function(wrap_pyfunction!(database::open, m)?)?;
    m.add_function(wrap_pyfunction!(database::verify, m)?)?;
    m.add_function(wrap_pyfunction!(images::create_for_model, m)?)?;
    m.add("NO_ID", search::NO_ID)?;
    m.add("NO_LABEL", search::NO_LABEL)?;
    m.add("MAX_CODES_PER_ITEM", hamdb::MAX_CODES_PER_ITEM)?;
    let statuses = PyDict::new(m.py());
    for (name, value) in errors::STATUSES {
        statuses.set_item(name, value)?;
    }
    m.add("STATUS", statuses)?;
    Ok(())
}
