//! The id space: ids are 0..=2^64-2; 2^64-1 is `NO_ID` ("no id") and no path may store it.
//! Before it was reserved, an item with id 2^64-1 broke duplicate checks (a second insert of
//! it succeeded, auto ids reused it, an import without ids silently dropped its codes).

mod common;

use common::db::{code_for, tempdir};
use hamdb::{CodeArray, CodeLen, CreateOptions, Database, Error, Import, WriteBatch, NO_ID};

fn fresh(tag: &str) -> Database {
    let dir = tempdir(tag);
    Database::create(
        dir.join("ids.hamdb"),
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
    )
    .unwrap()
}

fn is_id_param(e: &Error) -> bool {
    matches!(e, Error::InvalidParameter { name: "id", .. })
}

fn one_code() -> CodeArray {
    let mut a = CodeArray::new(CodeLen::new(64).unwrap());
    a.push(&code_for(1)).unwrap();
    a
}

#[test]
fn the_reserved_id_is_refused_on_every_write_path() {
    let db = fresh("ids-reserved");
    let mut b = WriteBatch::new();
    b.insert(NO_ID, code_for(1), None, "x");
    assert!(is_id_param(&db.commit(b).unwrap_err()));
    let mut b = WriteBatch::new();
    b.upsert(NO_ID, code_for(1), None, "x");
    assert!(is_id_param(&db.commit(b).unwrap_err()));
    let codes = one_code();
    let err = db
        .import(Import {
            codes: &codes,
            ids: Some(&[NO_ID]),
            labels: None,
            payloads: None,
        })
        .unwrap_err();
    assert!(is_id_param(&err), "{err:?}");
    // Deleting it is a harmless no-op, like any absent id.
    let mut b = WriteBatch::new();
    b.delete(NO_ID);
    db.commit(b).unwrap();
    assert_eq!(db.snapshot().len(), 0);
    Database::verify(db.path()).unwrap();
}

#[test]
fn the_highest_real_id_works_and_ids_then_run_out_cleanly() {
    let db = fresh("ids-top");
    let top = NO_ID - 1;
    let mut b = WriteBatch::new();
    b.insert(top, code_for(1), None, "top");
    db.commit(b).unwrap();
    // A second insert of it is a duplicate, before and after a flush.
    for flush in [false, true] {
        if flush {
            db.flush().unwrap();
        }
        let mut b = WriteBatch::new();
        b.insert(top, code_for(2), None, "again");
        assert_eq!(db.commit(b).unwrap_err(), Error::DuplicateId { id: top });
    }
    // No id is left to assign: insert_auto fails the whole batch, nothing is reused.
    let mut b = WriteBatch::new();
    b.insert(5, code_for(5), None, "five");
    b.insert_auto(code_for(3), None, "auto");
    assert!(is_id_param(&db.commit(b).unwrap_err()));
    let codes = one_code();
    let err = db
        .import(Import {
            codes: &codes,
            ids: None,
            labels: None,
            payloads: None,
        })
        .unwrap_err();
    assert!(
        is_id_param(&err),
        "an import with no ids left must fail, got {err:?}"
    );
    let snap = db.snapshot();
    assert_eq!(snap.len(), 1, "nothing from the failed writes is stored");
    assert_eq!(snap.get(top).unwrap().unwrap().payload, b"top");
    assert!(snap.get(5).unwrap().is_none());
    // Upsert of the top id replaces it (still one item).
    let mut b = WriteBatch::new();
    b.upsert(top, code_for(9), None, "replaced");
    db.commit(b).unwrap();
    db.compact().unwrap();
    let snap = db.snapshot();
    assert_eq!(snap.len(), 1);
    assert_eq!(snap.get(top).unwrap().unwrap().payload, b"replaced");
    Database::verify(db.path()).unwrap();
}

#[test]
fn an_id_repeated_in_one_batch_says_so() {
    let db = fresh("ids-repeat");
    let mut b = WriteBatch::new();
    b.insert(10, code_for(10), None, "a");
    b.insert(10, code_for(11), None, "b");
    let err = db.commit(b).unwrap_err();
    assert_eq!(err, Error::RepeatedId { id: 10 });
    assert!(
        err.to_string().contains("more than once in this batch"),
        "{err}"
    );
    // Insert, delete, insert again in one batch is fine.
    let mut b = WriteBatch::new();
    b.insert(10, code_for(10), None, "a");
    b.delete(10);
    b.insert(10, code_for(11), None, "b");
    db.commit(b).unwrap();
    // An id that exists from an earlier commit is a plain duplicate.
    let mut b = WriteBatch::new();
    b.insert(10, code_for(12), None, "c");
    assert_eq!(db.commit(b).unwrap_err(), Error::DuplicateId { id: 10 });
    // An import that repeats an id.
    let mut two = CodeArray::new(CodeLen::new(64).unwrap());
    two.push(&code_for(1)).unwrap();
    two.push(&code_for(2)).unwrap();
    let err = db
        .import(Import {
            codes: &two,
            ids: Some(&[500, 500]),
            labels: None,
            payloads: None,
        })
        .unwrap_err();
    assert_eq!(err, Error::RepeatedId { id: 500 });
}
