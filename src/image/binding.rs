//! Binding a database to a model: the model record a database is created with, and the check
//! that an encoder is that model before its codes go in or its queries go out.
//!
//! Storage keeps the record as opaque bytes (`Database::model_record`) and the fingerprint as
//! opaque bytes (`Database::fingerprint`); only this module knows they describe an encoder.

use crate::encoder::{self, Contract, Encoder};
use crate::error::{Error, Result};
use crate::storage::{codec, CreateOptions, Database, OpenOptions};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a database created for a model stores about it (docs/FORMAT.md, the Encoder block):
/// the model's contract, written once at creation. Codes from any other model (another
/// fingerprint) are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    pub contract: Contract,
    /// Where the model was when the database was created: a hint for tools, never trusted
    /// over the fingerprint.
    pub model_path: String,
}

impl ModelRecord {
    /// The record of the model a database was created with; `None` for a code-only database.
    /// A record that does not decode is [`Error::Corrupt`].
    pub fn of(db: &Database) -> Result<Option<ModelRecord>> {
        db.model_record()
            .map(|bytes| codec::decode(&bytes, "the encoder record"))
            .transpose()
    }

    /// The name of `class` in the model's class list ("" past its end).
    pub fn class_name(&self, class: u32) -> &str {
        self.contract
            .class_names
            .get(class as usize)
            .map_or("", String::as_str)
    }
}

/// Create a database bound to `encoder`'s model: it stores the model's fingerprint and
/// contract, and image inserts and queries with any other model are refused.
pub fn create_for_model(path: impl AsRef<Path>, encoder: &Encoder) -> Result<Database> {
    create_for_model_with(path, encoder, OpenOptions::default())
}

/// [`create_for_model`] with open options for the returned handle.
pub fn create_for_model_with(
    path: impl AsRef<Path>,
    encoder: &Encoder,
    open: OpenOptions,
) -> Result<Database> {
    let contract = encoder.contract().clone();
    let options = CreateOptions {
        code_bits: contract.code_len()?.bits(),
        fingerprint: encoder.fingerprint().to_vec(),
        expected_radius: None,
    };
    let record = ModelRecord {
        contract,
        model_path: encoder
            .model_path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    Database::create_with_model_record(path, options, codec::encode(&record), open)
}

/// A database together with the encoder that makes its codes, checked once: every image
/// operation goes through one, so a model that is not the database's never reaches it.
/// Cheap to make (the check compares two fingerprints and decodes a small record); make one
/// per operation or keep it.
#[derive(Clone)]
pub struct ModelBinding<'a> {
    db: &'a Database,
    encoder: &'a Encoder,
    record: ModelRecord,
}

impl<'a> ModelBinding<'a> {
    /// Bind `encoder` to `db`: [`Error::NoEncoder`] for a code-only database,
    /// [`Error::EncoderMismatch`] unless `encoder` is the model `db` was created with.
    pub fn new(db: &'a Database, encoder: &'a Encoder) -> Result<Self> {
        let record = ModelRecord::of(db)?.ok_or(Error::NoEncoder)?;
        if encoder.fingerprint()[..] != db.fingerprint()[..] {
            return Err(Error::EncoderMismatch {
                expected: encoder::describe(&record.contract, db.fingerprint()),
                actual: encoder.describe(),
            });
        }
        Ok(Self {
            db,
            encoder,
            record,
        })
    }

    pub fn database(&self) -> &'a Database {
        self.db
    }

    pub fn encoder(&self) -> &'a Encoder {
        self.encoder
    }

    /// The database's model record.
    pub fn record(&self) -> &ModelRecord {
        &self.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hamdb-binding-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        let _ = std::fs::remove_file(&p);
        p
    }

    fn options() -> CreateOptions {
        CreateOptions {
            code_bits: 48,
            fingerprint: b"not a model".to_vec(),
            expected_radius: None,
        }
    }

    #[test]
    fn a_code_only_database_has_no_record() {
        let db = Database::create(tmp("codes.hamdb"), options()).unwrap();
        assert_eq!(ModelRecord::of(&db).unwrap(), None);
    }

    /// Storage keeps the record's bytes without looking inside; the image layer is the one
    /// that finds they are not a record, and says the file is corrupt.
    #[test]
    fn a_record_that_does_not_decode_is_corrupt_and_survives_compaction() {
        let path = tmp("garbage.hamdb");
        let db = Database::create_with_model_record(
            &path,
            options(),
            vec![0xff; 7],
            OpenOptions::default(),
        )
        .unwrap();
        db.compact().unwrap();
        drop(db);
        let db = Database::open(&path).unwrap();
        assert_eq!(db.model_record().as_deref(), Some(&[0xff; 7][..]));
        match ModelRecord::of(&db) {
            Err(Error::Corrupt { what }) => assert!(what.contains("encoder record"), "{what}"),
            other => panic!("{other:?}"),
        }
    }
}
