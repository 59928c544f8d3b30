//! The `hamdb` binary end to end: create, import-codes, search-codes (table, JSON, .npy),
//! delete, compact, stats, verify, and the exit codes scripts rely on.

mod common;

use common::db::tempdir;
use common::images::{model_path, samples_dir};
use hamdb::npy;
use std::process::Command;

fn hamdb(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hamdb"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn command_line_round_trip_and_exit_codes() {
    let dir = tempdir("cli");
    let db = dir.join("c.hamdb");
    let db = db.to_str().unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    // 1,000 48-bit codes: row i is i in the last two bytes.
    let mut codes = Vec::new();
    for i in 0..1000u32 {
        codes.extend_from_slice(&[0, 0, 0, 0, (i >> 8) as u8, i as u8]);
    }
    std::fs::write(p("codes.npy"), npy::write("|u1", &[1000, 6], &codes)).unwrap();
    let ids: Vec<u8> = (0..1000u64)
        .flat_map(|i| (5000 + i).to_le_bytes())
        .collect();
    std::fs::write(p("ids.npy"), npy::write("<u8", &[1000], &ids)).unwrap();
    let labels: Vec<u8> = (0..1000i64).flat_map(|i| (i % 10).to_le_bytes()).collect();
    std::fs::write(p("labels.npy"), npy::write("<i8", &[1000], &labels)).unwrap();

    assert_eq!(hamdb(&["create", db, "--bits", "48"]).0, 0);
    assert_eq!(hamdb(&["create", db, "--bits", "48"]).0, 1, "exists");
    let (rc, out, _) = hamdb(&[
        "import-codes",
        db,
        &p("codes.npy"),
        "--ids",
        &p("ids.npy"),
        "--labels",
        &p("labels.npy"),
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("imported 1000 codes"));

    let (rc, out, _) = hamdb(&["search-codes", db, "--hex", "000000000007", "-k", "3"]);
    assert_eq!(rc, 0);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows[0].split_whitespace().collect::<Vec<_>>()[..5] == ["0", "1", "5007", "0", "7"],
        "{out}"
    );

    let (rc, out, _) = hamdb(&[
        "search-codes",
        db,
        "--hex",
        "000000000007",
        "--radius",
        "1",
        "--json",
        "--class",
        "5",
    ]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("\"id\":5005,\"distance\":1,\"label\":5"),
        "{out}"
    );

    let q: Vec<u8> = [0u8, 0, 0, 0, 0, 7, 0, 0, 0, 0, 3, 0xe8].to_vec();
    std::fs::write(p("q.npy"), npy::write("|u1", &[2, 6], &q)).unwrap();
    let (rc, _, _) = hamdb(&[
        "search-codes",
        db,
        "--queries",
        &p("q.npy"),
        "-k",
        "4",
        "--npy",
        &p("out"),
    ]);
    assert_eq!(rc, 0);
    let idsf = std::fs::read(p("out_ids.npy")).unwrap();
    let got = npy::parse(&idsf).unwrap();
    assert_eq!(got.shape, vec![2, 4]);
    assert_eq!(u64::from_le_bytes(got.data[..8].try_into().unwrap()), 5007);
    // 1000 is not stored; of its one-bit neighbours (488, 744, 872, 936, 968, 992) the smallest id wins.
    assert_eq!(
        u64::from_le_bytes(got.data[32..40].try_into().unwrap()),
        5488
    );

    assert_eq!(hamdb(&["delete", db, "5007"]).0, 0);
    let (_, out, _) = hamdb(&["search-codes", db, "--hex", "000000000007", "-k", "1"]);
    assert!(!out.contains(" 5007 "), "{out}");
    let (rc, out, _) = hamdb(&["stats", db]);
    assert_eq!(rc, 0);
    assert!(out.contains("\"items\":999"), "{out}");
    assert_eq!(hamdb(&["compact", db]).0, 0);
    let (rc, out, _) = hamdb(&["verify", db]);
    assert_eq!((rc, out.contains("999 items")), (0, true), "{out}");

    // Exit codes: usage 2, bad input 1, locked 3, corrupt 4.
    assert_eq!(hamdb(&["search-codes", db, "--hex", "00"]).0, 2);
    assert_eq!(hamdb(&["frobnicate"]).0, 2);
    assert_eq!(
        hamdb(&["search-codes", db, "--hex", "0102", "-k", "1"]).0,
        1,
        "wrong code length"
    );
    let holder = hamdb::Database::open(db).unwrap();
    assert_eq!(hamdb(&["delete", db, "1"]).0, 3);
    drop(holder);
    let mut bytes = std::fs::read(db).unwrap();
    bytes[20] ^= 1; // the header's checksummed area
    std::fs::write(db, &bytes).unwrap();
    assert_eq!(hamdb(&["verify", db]).0, 4);
    std::fs::write(p("junk.npy"), b"not numpy").unwrap();
    assert_eq!(hamdb(&["create", &p("d2.hamdb"), "--bits", "48"]).0, 0);
    assert_eq!(
        hamdb(&["import-codes", &p("d2.hamdb"), &p("junk.npy")]).0,
        1
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn hamdb_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hamdb"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The image commands with the real runtime and model: create --model, insert (folders,
/// per-file failures, exit codes 0/5/1), search --image (table, JSON, class by name),
/// classify, eval, the wrong model and a missing runtime.
#[test]
fn image_commands_end_to_end() {
    let (model, model32, samples) = (model_path(48), model_path(32), samples_dir());
    let (model, model32, samples_s) = (
        model.to_str().unwrap(),
        model32.to_str().unwrap(),
        samples.to_str().unwrap(),
    );
    let dir = tempdir("cli-images");
    let db = dir.join("img.hamdb");
    let db = db.to_str().unwrap();
    let (rc, out, err) = hamdb(&["create", db, "--model", model]);
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains("ssdh-fmnist-48") && out.contains("48-bit"),
        "{out}"
    );

    // A folder with 30 images and a non-image file (skipped by extension when walking).
    let imgs = dir.join("imgs");
    std::fs::create_dir_all(imgs.join("sub")).unwrap();
    for i in 0..30 {
        let name = format!("images/{i:05}.png");
        let to = if i % 2 == 0 {
            imgs.join(format!("{i:05}.png"))
        } else {
            imgs.join(format!("sub/{i:05}.png"))
        };
        std::fs::copy(samples.join(&name), to).unwrap();
    }
    std::fs::write(imgs.join("README.txt"), "not an image").unwrap();
    let (rc, out, err) = hamdb(&["insert", db, imgs.to_str().unwrap(), "--quiet"]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("inserted 30 of 30 images"), "{out}");

    // Some bad: exit 5, each failure named; all bad: exit 1.
    let broken = dir.join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\ngarbage").unwrap();
    let good = samples.join("images/00100.png");
    let (rc, out, err) = hamdb(&[
        "insert",
        db,
        good.to_str().unwrap(),
        broken.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(rc, 5, "{out}{err}");
    assert!(out.contains("inserted 1 of 2"), "{out}");
    assert!(
        err.contains("broken.png") && err.contains("cannot decode"),
        "{err}"
    );
    let (rc, _, err) = hamdb(&["insert", db, broken.to_str().unwrap(), "--quiet"]);
    assert_eq!(rc, 1, "{err}");
    let (_, out, _) = hamdb(&["stats", db]);
    assert!(
        out.contains("\"items\":31") && out.contains("sha256:"),
        "{out}"
    );

    // Search: the table names the query's class; JSON parses; --class by name filters.
    let q = samples.join("images/00004.png");
    let q = q.to_str().unwrap();
    let (rc, out, err) = hamdb(&["search", db, "--image", q, "-k", "3"]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("class ") && out.contains("(p = "), "{out}");
    assert_eq!(out.lines().count(), 2 + 3, "{out}");
    let (rc, out, _) = hamdb(&[
        "search", db, "--image", q, "-k", "4", "--json", "--class", "Trouser",
    ]);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["probability"].as_f64().unwrap() > 0.0);
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["class_name"] == "Trouser"));
    let (rc, _, err) = hamdb(&["search", db, "--image", q, "--class", "Spaceship"]);
    assert_eq!(rc, 2, "{err}");

    // classify: one line per image; a bad file among good ones -> 5.
    let (rc, out, _) = hamdb(&["classify", model, q, "--json"]);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["code"].as_str().unwrap().len(), 12);
    let (rc, _, _) = hamdb(&["classify", model, q, broken.to_str().unwrap()]);
    assert_eq!(rc, 5);

    // eval over the shipped labels (only 31 of the samples are in this database).
    let labels = samples.join("labels.csv");
    let (rc, out, err) = hamdb(&[
        "eval",
        db,
        "--queries",
        samples_s,
        "--labels",
        labels.to_str().unwrap(),
        "-k",
        "10",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("1000 queries") && out.contains("mAP"), "{out}");

    // The wrong model is refused, naming both.
    let (rc, _, err) = hamdb(&["search", db, "--image", q, "--model", model32]);
    assert_eq!(rc, 1);
    assert!(
        err.contains("ssdh-fmnist-48") && err.contains("ssdh-fmnist-32"),
        "{err}"
    );

    // No runtime where it was said to be: the error says how to install one.
    let (rc, _, err) = hamdb_env(
        &["classify", model, q],
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")],
    );
    assert_eq!(rc, 1);
    assert!(err.contains("pip install onnxruntime"), "{err}");
}

/// `hamdb insert` killed with SIGKILL part-way: the database reopens, verifies, and holds
/// exactly a prefix of the inputs in whole commits (ids follow the input order), every item
/// readable; inserting the rest afterwards completes the set.
#[test]
fn insert_killed_midway_keeps_whole_commits() {
    let model = model_path(48);
    let samples = samples_dir().join("images");
    let dir = tempdir("cli-kill");
    let imgs = dir.join("imgs");
    std::fs::create_dir_all(&imgs).unwrap();
    let src: Vec<_> = {
        let mut v: Vec<_> = std::fs::read_dir(&samples)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let n = 6000;
    for i in 0..n {
        std::fs::copy(&src[i % src.len()], imgs.join(format!("{i:05}.png"))).unwrap();
    }
    let db = dir.join("k.hamdb");
    let db_s = db.to_str().unwrap();
    assert_eq!(
        hamdb(&["create", db_s, "--model", model.to_str().unwrap()]).0,
        0
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_hamdb"))
        .args([
            "insert",
            db_s,
            imgs.to_str().unwrap(),
            "--quiet",
            "--commit-every",
            "256",
        ])
        .spawn()
        .unwrap();
    // Kill once some commits have landed (the file grows with each), or give up waiting.
    let start = std::time::Instant::now();
    while std::fs::metadata(&db).unwrap().len() < 60_000 && start.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    let (rc, out, err) = hamdb(&["verify", db_s]);
    assert_eq!(rc, 0, "{out}{err}");
    let d = hamdb::Database::open(&db).unwrap();
    let items = d.stats().items;
    eprintln!(
        "killed: {}, items committed: {items} of {n}",
        !status.success()
    );
    if status.success() {
        assert_eq!(items, n as u64, "finished before the kill");
    } else {
        assert!(
            items.is_multiple_of(256) && items < n as u64,
            "{items} items after a kill"
        );
    }
    // Exactly the first `items` files, in order, each with its own code.
    let snap = d.snapshot();
    let first: Vec<String> = (0..items)
        .map(|i| String::from_utf8(snap.get(i).unwrap().unwrap().payload).unwrap())
        .collect();
    for (i, p) in first.iter().enumerate() {
        assert!(p.ends_with(&format!("{i:05}.png")), "item {i} is {p}");
    }
    drop((snap, d));
    // The rest go in afterwards.
    let rest: Vec<String> = (items as usize..n)
        .map(|i| {
            imgs.join(format!("{i:05}.png"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    if !rest.is_empty() {
        let mut args = vec!["insert", db_s, "--quiet"];
        args.extend(rest.iter().map(String::as_str));
        let (rc, _, err) = hamdb(&args);
        assert_eq!(rc, 0, "{err}");
    }
    assert_eq!(hamdb::Database::open(&db).unwrap().stats().items, n as u64);
}

/// `hamdb insert` stopped by a write error part-way (the file-size limit, RLIMIT_FSIZE, with
/// SIGXFSZ ignored so that writes fail with EFBIG instead of killing the process): it exits
/// with an error that says how many images were committed, and the database holds exactly that
/// prefix of the inputs, verifies, and takes the rest once the limit is gone.
#[test]
fn insert_stopped_by_a_write_error_reports_what_was_committed() {
    let model = model_path(48);
    let images = samples_dir().join("images");
    let dir = tempdir("cli-fsize");
    let db = dir.join("f.hamdb");
    let db_s = db.to_str().unwrap();
    assert_eq!(
        hamdb(&["create", db_s, "--model", model.to_str().unwrap()]).0,
        0
    );
    let created = std::fs::metadata(&db).unwrap().len();
    // Room for a few hundred images (about 70 bytes each on disk), not for all 1,000.
    let limit_blocks = (created + 20_000) / 512;
    let script = format!(
        "trap '' XFSZ; ulimit -f {limit_blocks} && exec \"$0\" insert \"$1\" \"$2\" --quiet --commit-every 100"
    );
    let out = Command::new("/bin/sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_hamdb"), db_s])
        .arg(&images)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the limit did not stop it: {err}");
    assert!(out.status.code().is_some(), "killed by a signal: {err}");
    let committed: u64 = err
        .lines()
        .find_map(|l| {
            l.strip_prefix("hamdb: ")?
                .split(" of 1000 images were committed")
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no committed count in: {err}"));
    assert!(
        (100..1000).contains(&committed) && committed.is_multiple_of(100),
        "{committed}: {err}"
    );
    assert!(err.contains("File too large"), "{err}");

    let (rc, out_v, err_v) = hamdb(&["verify", db_s]);
    assert_eq!(rc, 0, "{out_v}{err_v}");
    let d = hamdb::Database::open(&db).unwrap();
    assert_eq!(d.stats().items, committed);
    let snap = d.snapshot();
    for i in 0..committed {
        let payload = String::from_utf8(snap.get(i).unwrap().unwrap().payload).unwrap();
        assert!(
            payload.ends_with(&format!("{i:05}.png")),
            "item {i} is {payload}"
        );
    }
    drop((snap, d));
    let (rc, _, err) = hamdb(&["insert", db_s, images.to_str().unwrap(), "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        hamdb::Database::open(&db).unwrap().stats().items,
        committed + 1000
    );
    std::fs::remove_dir_all(&dir).ok();
}
