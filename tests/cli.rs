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
    // Both rankings are reported; the class-aware one is labelled as such.
    let first = out
        .lines()
        .find(|l| l.starts_with("class-aware ranking"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        first.contains("mAP 0.") || first.contains("mAP 1."),
        "{first}"
    );

    // search --rank class: items of the predicted class first, then the rest, each
    // group by distance; k larger than the database shows both groups.
    let (rc, out, err) = hamdb(&[
        "search", db, "--image", q, "--rank", "class", "-k", "40", "--json",
    ]);
    assert_eq!(rc, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let hits = v["hits"].as_array().unwrap();
    let predicted = &v["class_name"];
    let in_class = hits
        .iter()
        .take_while(|h| &h["class_name"] == predicted)
        .count();
    assert!(in_class > 0 && in_class < hits.len(), "{out}");
    assert!(hits[in_class..]
        .iter()
        .all(|h| &h["class_name"] != predicted));
    let dist = |h: &serde_json::Value| h["distance"].as_u64().unwrap();
    assert!(hits[..in_class]
        .windows(2)
        .all(|w| dist(&w[0]) <= dist(&w[1])));
    assert!(hits[in_class..]
        .windows(2)
        .all(|w| dist(&w[0]) <= dist(&w[1])));
    // For 40 sample images: the plain ranking of every item, stably partitioned by the
    // image's predicted class; at least one where that changes the order (so this is not
    // the plain ranking by chance).
    let imgs: Vec<String> = (100..140)
        .map(|i| {
            samples
                .join(format!("images/{i:05}.png"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let run = |rank: &str| -> Vec<serde_json::Value> {
        let mut args = vec![
            "search", db, "-k", "40", "--json", "--rank", rank, "--image",
        ];
        args.extend(imgs.iter().map(String::as_str));
        let (rc, out, err) = hamdb(&args);
        assert_eq!(rc, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (plain, ranked) = (run("distance"), run("class"));
    assert_eq!((plain.len(), ranked.len()), (40, 40));
    let row = |h: &serde_json::Value| (h["id"].as_u64().unwrap(), h["class_name"].clone());
    let mut reordered = 0;
    for (p, r) in plain.iter().zip(&ranked) {
        let predicted = &p["class_name"];
        let plain_rows: Vec<_> = p["hits"].as_array().unwrap().iter().map(row).collect();
        let (mut want, rest): (Vec<_>, Vec<_>) = plain_rows
            .iter()
            .cloned()
            .partition(|(_, c)| c == predicted);
        want.extend(rest);
        let got: Vec<_> = r["hits"].as_array().unwrap().iter().map(row).collect();
        assert_eq!(got, want, "{}", p["image"]);
        reordered += (got != plain_rows) as usize;
    }
    assert!(reordered > 0);
    let (rc, _, _) = hamdb(&[
        "search", db, "--image", q, "--rank", "class", "--class", "Trouser",
    ]);
    assert_eq!(rc, 2, "--rank class with --class is a usage error");

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

// ---- Hardening: the grammar (clap), bounds, delete counts, output errors, several images,
// ---- eval coverage, folder walks.

const BIN: &str = env!("CARGO_BIN_EXE_hamdb");

/// A 48-bit code-only database of `n` codes (row i holds i in its last two bytes), ids
/// 5000 + i, labels i % 10.
fn code_db(dir: &std::path::Path, n: u32) -> String {
    let db = dir.join("codes.hamdb").to_str().unwrap().to_string();
    let mut codes = Vec::new();
    for i in 0..n {
        codes.extend_from_slice(&[0, 0, 0, 0, (i >> 8) as u8, i as u8]);
    }
    let codes_npy = dir.join("codes.npy");
    std::fs::write(&codes_npy, npy::write("|u1", &[n as usize, 6], &codes)).unwrap();
    let ids: Vec<u8> = (0..n as u64)
        .flat_map(|i| (5000 + i).to_le_bytes())
        .collect();
    let ids_npy = dir.join("ids.npy");
    std::fs::write(&ids_npy, npy::write("<u8", &[n as usize], &ids)).unwrap();
    assert_eq!(hamdb(&["create", &db, "--bits", "48"]).0, 0);
    let (rc, out, err) = hamdb(&[
        "import-codes",
        &db,
        codes_npy.to_str().unwrap(),
        "--ids",
        ids_npy.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    db
}

/// An image database (48-bit reference model) holding the first `n` sample images, by their
/// paths in the samples folder. Returns the database and the images' paths.
fn image_db(dir: &std::path::Path, n: usize) -> (String, Vec<String>) {
    let db = dir.join("img.hamdb").to_str().unwrap().to_string();
    let model = model_path(48);
    assert_eq!(
        hamdb(&["create", &db, "--model", model.to_str().unwrap()]).0,
        0
    );
    let files: Vec<String> = (0..n)
        .map(|i| {
            samples_dir()
                .join(format!("images/{i:05}.png"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut args = vec!["insert", db.as_str(), "--quiet"];
    args.extend(files.iter().map(String::as_str));
    let (rc, out, err) = hamdb(&args);
    assert_eq!(rc, 0, "{out}{err}");
    (db, files)
}

fn items(db: &str) -> u64 {
    hamdb::Database::open_read_only(db).unwrap().stats().items
}

/// Issue 13: per-command help exits 0; --help, help, version, --version; unknown, repeated
/// and conflicting options and extra positionals are usage errors (exit 2) that say so.
#[test]
fn help_version_and_usage_errors() {
    let dir = tempdir("cli-usage");
    let db = code_db(&dir, 100);
    let db = db.as_str();
    let commands = [
        "create",
        "insert",
        "search",
        "classify",
        "eval",
        "import-codes",
        "search-codes",
        "delete",
        "compact",
        "stats",
        "verify",
    ];
    for cmd in commands {
        let (rc, out, err) = hamdb(&[cmd, "--help"]);
        assert_eq!(rc, 0, "{cmd} --help: {err}");
        assert!(out.contains(&format!("hamdb {cmd}")), "{cmd} --help: {out}");
        assert!(!err.contains("needs a value"), "{err}");
    }
    let (rc, out, _) = hamdb(&["search", "--help"]);
    assert_eq!(rc, 0);
    for opt in [
        "--image",
        "--k",
        "--radius",
        "--class",
        "--json",
        "--model",
        "--threads",
    ] {
        assert!(out.contains(opt), "search --help lacks {opt}: {out}");
    }
    for top in [&["--help"][..], &["help"][..]] {
        let (rc, out, err) = hamdb(top);
        assert_eq!(rc, 0, "{top:?}: {err}");
        for cmd in commands {
            assert!(out.contains(cmd), "{top:?} lacks {cmd}: {out}");
        }
    }
    let want = format!(
        "hamdb {} (file format {})",
        env!("CARGO_PKG_VERSION"),
        hamdb::storage::FORMAT_VERSION
    );
    for v in ["version", "--version"] {
        let (rc, out, _) = hamdb(&[v]);
        assert_eq!((rc, out.trim()), (0, want.as_str()), "{v}");
    }
    assert_eq!(hamdb(&[]).0, 2, "no command");

    // Each of these used to be accepted silently (or fail as "needs a value").
    let new_db = dir.join("new.hamdb");
    let new_db = new_db.to_str().unwrap();
    let q = dir.join("codes.npy");
    let q = q.to_str().unwrap();
    let prefix = dir.join("out");
    let prefix = prefix.to_str().unwrap();
    let hex = "000000000007";
    let cases: &[(&[&str], &str)] = &[
        (&["stats", db, "--frob", "1"], "--frob"),
        (
            &["search-codes", db, "--hex", hex, "-k", "1", "--frob"],
            "--frob",
        ),
        (
            &["create", new_db, "--bits", "64", "--bits", "128"],
            "--bits",
        ),
        (
            &["search-codes", db, "--hex", hex, "-k", "1", "-k", "2"],
            "-k",
        ),
        (
            &[
                "search-codes",
                db,
                "--hex",
                hex,
                "-k",
                "1",
                "--json",
                "--json",
            ],
            "--json",
        ),
        (
            &["create", new_db, "--bits", "64", "--model", "m.onnx"],
            "cannot be used with",
        ),
        (
            &["search-codes", db, "--hex", hex, "-k", "1", "--radius", "2"],
            "cannot be used with",
        ),
        (
            &["search", db, "--image", q, "-k", "1", "--radius", "2"],
            "cannot be used with",
        ),
        (
            &[
                "search-codes",
                db,
                "--hex",
                hex,
                "-k",
                "1",
                "--json",
                "--npy",
                prefix,
            ],
            "cannot be used with",
        ),
        (
            &["search-codes", db, "--queries", q, "--hex", hex, "-k", "1"],
            "cannot be used with",
        ),
        (&["stats", db, "extra"], "extra"),
        (&["verify", db, "extra"], "extra"),
        (&["compact", db, "extra"], "extra"),
        (&["import-codes", db, q, "extra"], "extra"),
    ];
    for (args, says) in cases {
        let (rc, out, err) = hamdb(args);
        assert_eq!(rc, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("needs a value"), "{args:?}: {err}");
    }
    assert!(
        !std::path::Path::new(new_db).exists(),
        "a usage error created {new_db}"
    );
    assert!(
        !dir.join("out_ids.npy").exists(),
        "--json --npy wrote files"
    );
    assert_eq!(items(db), 100, "a usage error changed the database");
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 7 (CLI part): thread, decoder, batch and commit-interval counts out of range are
/// usage errors (exit 2) that give the allowed range; 0 threads still means automatic.
#[test]
fn numeric_options_are_bounded() {
    let dir = tempdir("cli-bounds");
    let missing_db = dir.join("none.hamdb");
    let missing_db = missing_db.to_str().unwrap();
    let img = samples_dir().join("images/00000.png");
    let img = img.to_str().unwrap();
    let model = model_path(48);
    let model = model.to_str().unwrap();
    let huge = "100000000000000000000000000000";
    let cases: &[(&[&str], &str)] = &[
        (
            &["insert", missing_db, img, "--threads", "100000"],
            "0 to 256",
        ),
        (&["insert", missing_db, img, "--threads", huge], "0 to 256"),
        (
            &["insert", missing_db, img, "--decoders", "100000"],
            "0 to 256",
        ),
        (
            &["insert", missing_db, img, "--batch", "100000"],
            "1 to 4096",
        ),
        (&["insert", missing_db, img, "--batch", "0"], "1 to 4096"),
        (
            &["insert", missing_db, img, "--commit-every", "0"],
            "1 or more",
        ),
        (
            &["insert", missing_db, img, "--commit-every", huge],
            "1 or more",
        ),
        (&["classify", model, img, "--threads", "100000"], "0 to 256"),
        (
            &["search", missing_db, "--image", img, "--threads", "100000"],
            "0 to 256",
        ),
    ];
    for (args, range) in cases {
        let (rc, out, err) = hamdb(args);
        assert_eq!(rc, 2, "{args:?}: {out}{err}");
        assert!(err.contains(range), "{args:?}: {err}");
    }
    // In range, the options get past the grammar (and the missing database fails, exit 1).
    let (rc, _, err) = hamdb(&[
        "insert",
        missing_db,
        img,
        "--threads",
        "0",
        "--decoders",
        "256",
        "--batch",
        "4096",
        "--commit-every",
        "1",
    ]);
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("none.hamdb"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 15: delete reports how many items were deleted, each id once, naming the count of
/// ids that were not there.
#[test]
fn delete_reports_what_was_deleted() {
    let dir = tempdir("cli-delete");
    let db = code_db(&dir, 50);
    let (rc, out, err) = hamdb(&["delete", &db, "5010", "5010", "999999"]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("deleted 1 of 2 ids (1 not found)"), "{out}");
    assert_eq!(items(&db), 49);
    let (rc, out, err) = hamdb(&["delete", &db, "5010"]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("deleted 0 of 1 id (1 not found)"), "{out}");
    let (rc, out, _) = hamdb(&["delete", &db, "5011", "5012"]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("deleted 2 of 2 ids") && !out.contains("not found"),
        "{out}"
    );
    assert_eq!(items(&db), 47);
    std::fs::remove_dir_all(&dir).ok();
}

fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

/// Issue 11: a full disk on standard output (/dev/full) is exit 1 with a message naming a
/// write error, for every kind of output — never a panic (exit 101).
#[test]
fn stdout_full_disk_is_a_clear_error() {
    let dir = tempdir("cli-stdout");
    let db = code_db(&dir, 2000);
    let q = dir.join("codes.npy");
    let q = q.to_str().unwrap();
    // Every query's 50 nearest: about 2,000 JSON lines, far over a pipe's buffer.
    let big: &[&str] = &["search-codes", &db, "--queries", q, "-k", "50", "--json"];
    let cases: &[&[&str]] = &[
        big,
        &["search-codes", &db, "--queries", q, "-k", "50"],
        &["stats", &db],
        &["verify", &db],
        &["version"],
        &["--help"],
        &["search", "--help"],
        &["delete", &db, "999999"],
    ];
    for args in cases {
        let out = Command::new(BIN)
            .args(*args)
            .stdout(dev_full())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("write error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 11: a pipe closed by its reader ends the command quietly with exit 0, not a panic.
#[test]
fn stdout_closed_pipe_ends_quietly() {
    let dir = tempdir("cli-pipe");
    let db = code_db(&dir, 2000);
    let q = dir.join("codes.npy");
    let q = q.to_str().unwrap();
    // Every query's 50 nearest: far over a pipe's buffer, so the writes meet the closed end.
    let big: &[&str] = &["search-codes", &db, "--queries", q, "-k", "50", "--json"];
    for args in [big, &["search-codes", &db, "--queries", q, "-k", "50"]] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes before the first line is written
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 4: `search --image A B C` searches every image, in order, one block (or one JSON
/// line) per image.
#[test]
fn search_takes_several_images_in_order() {
    let dir = tempdir("cli-multi");
    let (db, files) = image_db(&dir, 12);
    let qs = [&files[3], &files[0], &files[7]];
    let (rc, out, err) = hamdb(&["search", &db, "--image", qs[0], qs[1], qs[2], "-k", "2"]);
    assert_eq!(rc, 0, "{err}");
    let heads: Vec<&str> = out.lines().filter(|l| l.contains(": class ")).collect();
    assert_eq!(heads.len(), 3, "{out}");
    for (h, q) in heads.iter().zip(qs) {
        assert!(h.starts_with(&format!("{q}: class ")), "{h} for {q}");
    }
    assert_eq!(out.lines().count(), 3 * (2 + 2), "{out}");
    // Each query is in the database: its own item is its nearest, at distance 0.
    let (rc, out, err) = hamdb(&[
        "search", &db, "--image", qs[0], qs[1], "--image", qs[2], "-k", "2", "--json",
    ]);
    assert_eq!(rc, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (v, q) in lines.iter().zip(qs) {
        assert_eq!(v["image"].as_str(), Some(q.as_str()));
        let hits = v["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0]["distance"], 0, "{v}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 15: among several images, a bad one is named on stderr and the others are still
/// searched: exit 5 if some failed, 1 if all did.
#[test]
fn search_names_bad_images_and_searches_the_rest() {
    let dir = tempdir("cli-badq");
    let (db, files) = image_db(&dir, 6);
    let missing = dir.join("missing.png");
    let missing = missing.to_str().unwrap();
    let broken = dir.join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\ngarbage").unwrap();
    let broken = broken.to_str().unwrap();
    let (rc, out, err) = hamdb(&[
        "search", &db, "--image", &files[1], missing, broken, &files[2], "-k", "1",
    ]);
    assert_eq!(rc, 5, "{out}{err}");
    assert!(
        err.contains("missing.png") && err.contains("broken.png"),
        "{err}"
    );
    let heads: Vec<&str> = out.lines().filter(|l| l.contains(": class ")).collect();
    assert_eq!(heads.len(), 2, "{out}");
    assert!(heads[0].starts_with(files[1].as_str()) && heads[1].starts_with(files[2].as_str()));
    let (rc, out, err) = hamdb(&["search", &db, "--image", missing, broken]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(
        err.contains("missing.png") && err.contains("broken.png"),
        "{err}"
    );
    // One bad image alone: named, exit 1.
    let (rc, _, err) = hamdb(&["search", &db, "--image", broken]);
    assert_eq!(rc, 1);
    assert!(err.contains("broken.png"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 15: eval warns when the labels cover only some database items, fails clearly when
/// nothing is labelled, and names the file in I/O errors.
#[test]
fn eval_warns_on_partial_labels_and_names_files() {
    let dir = tempdir("cli-eval");
    let n = 12;
    let (db, _) = image_db(&dir, n);
    let samples = samples_dir();
    let samples_s = samples.to_str().unwrap();
    let all: Vec<String> = std::fs::read_to_string(samples.join("labels.csv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let eval = |rows: &[String]| {
        let labels = dir.join("labels.csv");
        std::fs::write(&labels, format!("{}\n{}\n", all[0], rows.join("\n"))).unwrap();
        hamdb(&[
            "eval",
            &db,
            "--queries",
            samples_s,
            "--labels",
            labels.to_str().unwrap(),
        ])
    };
    // The first 4 of the 12 database items labelled.
    let labelled = 4;
    let (rc, out, err) = eval(&all[1..1 + labelled]);
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains(&format!("{labelled} queries against {n} items")),
        "{out}"
    );
    assert!(
        err.contains(&format!(
            "{} of {n} database items have no label",
            n - labelled
        )),
        "{err}"
    );
    // Everything labelled: no warning about items.
    let (rc, _, err) = eval(&all[1..1 + n]);
    assert_eq!(rc, 0, "{err}");
    assert!(!err.contains("have no label"), "{err}");
    // No rows: no labelled query.
    let (rc, out, err) = eval(&[]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(
        err.contains("no labelled query") && !out.contains("mAP"),
        "{err}"
    );
    // Rows for images not in the database only: no item has a label.
    let (rc, out, err) = eval(&all[1 + n..1 + n + 3]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(
        err.contains(&format!("none of the {n} database items has a label")),
        "{err}"
    );
    // A query file that is not there: the error names it.
    let mut rows = all[1..3].to_vec();
    rows.push("images/no-such-file.png,3".into());
    let (rc, _, err) = eval(&rows);
    assert_eq!(rc, 1);
    assert!(err.contains("no-such-file.png"), "{err}");
    // A model path that cannot be read, a labels file that is not there: named.
    let labels = dir.join("labels.csv");
    let labels = labels.to_str().unwrap();
    let not_a_model = dir.to_str().unwrap();
    let (rc, _, err) = hamdb(&["eval", &db, "--labels", labels, "--model", not_a_model]);
    assert_eq!(rc, 1);
    assert!(err.contains(not_a_model), "{err}");
    let (rc, _, err) = hamdb(&["eval", &db, "--labels", "/nonexistent/l.csv"]);
    assert_eq!(rc, 1);
    assert!(err.contains("/nonexistent/l.csv"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 6: `insert DIR` does not follow symbolic links to folders inside the walk (a `-> .`
/// loop and a `-> ..` link), and a file reached twice (named twice, linked) goes in once.
#[test]
fn insert_walk_skips_folder_links_and_dedupes() {
    use std::os::unix::fs::symlink;
    let dir = tempdir("cli-walk");
    let db = dir.join("w.hamdb");
    let db = db.to_str().unwrap();
    assert_eq!(
        hamdb(&["create", db, "--model", model_path(48).to_str().unwrap()]).0,
        0
    );
    let imgs = dir.join("tree/imgs");
    std::fs::create_dir_all(imgs.join("sub")).unwrap();
    let names = ["a.png", "b.png", "c.png", "sub/d.png"];
    for (i, name) in names.iter().enumerate() {
        std::fs::copy(
            samples_dir().join(format!("images/{i:05}.png")),
            imgs.join(name),
        )
        .unwrap();
    }
    symlink(".", imgs.join("loop")).unwrap();
    symlink("..", imgs.join("up")).unwrap();
    symlink("..", imgs.join("sub/up")).unwrap();
    symlink("../a.png", imgs.join("sub/again.png")).unwrap();
    std::fs::hard_link(imgs.join("b.png"), imgs.join("sub/hard.png")).unwrap();
    let (out_f, err_f) = (dir.join("out.txt"), dir.join("err.txt"));
    let mut child = Command::new(BIN)
        .args(["insert", db, "--quiet"])
        .arg(&imgs)
        .arg(&imgs)
        .arg(imgs.join("c.png"))
        .stdout(std::fs::File::create(&out_f).unwrap())
        .stderr(std::fs::File::create(&err_f).unwrap())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed().as_secs() > 60 {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&out_f).unwrap();
    let err = std::fs::read_to_string(&err_f).unwrap();
    let status = status.unwrap_or_else(|| panic!("insert did not finish in 60 s: {err}"));
    assert_eq!(status.code(), Some(0), "{out}{err}");
    let n = names.len();
    assert!(
        out.contains(&format!("inserted {n} of {n} images")),
        "{out}"
    );
    for link in ["imgs/loop", "imgs/up", "sub/up"] {
        assert!(
            err.contains(&format!("{link}: a symbolic link to a folder")),
            "{err}"
        );
    }
    let d = hamdb::Database::open_read_only(db).unwrap();
    assert_eq!(d.stats().items, n as u64);
    let snap = d.snapshot();
    let mut files: Vec<std::path::PathBuf> = (0..n as u64)
        .map(|i| {
            let p = String::from_utf8(snap.get(i).unwrap().unwrap().payload).unwrap();
            std::fs::canonicalize(p).unwrap()
        })
        .collect();
    files.sort();
    files.dedup();
    assert_eq!(files.len(), n, "an image went in twice: {files:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 12: every JSON line is valid JSON, one object per line, whatever a path, payload or
/// fingerprint holds (a quote, a backslash, a newline, a tab, control characters,
/// non-ASCII), and the strings come back as they went in.
#[test]
fn json_output_escapes_paths_and_payloads() {
    let dir = tempdir("cli-json");
    let weird = "q\"uote b\\ackslash\nnewline\ttab \u{1}\u{1f} é 画像";
    let parse = |out: &str, lines: usize| -> Vec<serde_json::Value> {
        let v: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(v.len(), lines, "{out}");
        v
    };

    // Code-only: a payload written through the library, a fingerprint through the CLI.
    let db = dir.join("codes.hamdb");
    let db_s = db.to_str().unwrap();
    let (rc, _, err) = hamdb(&["create", db_s, "--bits", "48", "--fingerprint", weird]);
    assert_eq!(rc, 0, "{err}");
    {
        let d = hamdb::Database::open(&db).unwrap();
        let mut b = hamdb::WriteBatch::new();
        b.insert(
            7,
            hamdb::Code::from_hex("000000000007").unwrap(),
            Some(3),
            weird,
        );
        d.commit(b).unwrap();
    }
    let (rc, out, err) = hamdb(&["stats", db_s]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(parse(&out, 1)[0]["fingerprint"], weird);
    let (rc, out, err) = hamdb(&[
        "search-codes",
        db_s,
        "--hex",
        "000000000007",
        "-k",
        "1",
        "--json",
    ]);
    assert_eq!(rc, 0, "{err}");
    let v = parse(&out, 1);
    assert_eq!(v[0]["hits"][0]["payload"], weird);
    assert_eq!(v[0]["hits"][0]["label"], 3);

    // An image in a folder and under a name holding such characters: its path is the JSON
    // "image", and the payload of the item it went in as.
    let sub = dir.join("sub \"q\" \\ \n dir");
    std::fs::create_dir_all(&sub).unwrap();
    let img = sub.join("a\"b\\c\nd\te é.png");
    std::fs::copy(samples_dir().join("images/00001.png"), &img).unwrap();
    let img_s = img.to_str().unwrap();
    let idb = dir.join("img.hamdb");
    let idb_s = idb.to_str().unwrap();
    let model = model_path(48);
    assert_eq!(
        hamdb(&["create", idb_s, "--model", model.to_str().unwrap()]).0,
        0
    );
    let (rc, out, err) = hamdb(&["insert", idb_s, sub.to_str().unwrap(), "--quiet"]);
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, out, err) = hamdb(&["search", idb_s, "--image", img_s, "-k", "1", "--json"]);
    assert_eq!(rc, 0, "{err}");
    let v = parse(&out, 1);
    assert_eq!(v[0]["image"], img_s);
    assert_eq!(v[0]["hits"][0]["payload"], img_s);
    assert_eq!(v[0]["hits"][0]["distance"], 0);
    let p = v[0]["probability"].as_f64().unwrap();
    assert!(
        p > 0.0 && p <= 1.0 && (p * 1e6 - (p * 1e6).round()).abs() < 1e-6,
        "{p}"
    );
    let (rc, out, err) = hamdb(&["classify", model.to_str().unwrap(), img_s, "--json"]);
    assert_eq!(rc, 0, "{err}");
    let v = parse(&out, 1);
    assert_eq!(v[0]["image"], img_s);
    assert_eq!(v[0]["code"].as_str().unwrap().len(), 12);
    std::fs::remove_dir_all(&dir).ok();
}

/// Storage keeps a database's model record as opaque bytes (checked by its block checksum);
/// `verify` and `stats` also check that the bytes are a model record, and report a file whose
/// record is not one as corrupt (exit 4), where a code-only or healthy file passes.
#[test]
fn verify_and_stats_check_the_model_record() {
    let dir = tempdir("cli-record");
    let path = dir.join("garbage-record.hamdb");
    hamdb::Database::create_with_model_record(
        &path,
        hamdb::CreateOptions {
            code_bits: 48,
            fingerprint: b"fp".to_vec(),
            expected_radius: None,
        },
        b"not a model record".to_vec(),
        hamdb::OpenOptions::default(),
    )
    .unwrap();
    let db = path.to_str().unwrap();
    for cmd in ["verify", "stats"] {
        let (rc, out, err) = hamdb(&[cmd, db]);
        assert_eq!(rc, 4, "{cmd}: {out}{err}");
        assert!(err.contains("encoder record"), "{cmd}: {err}");
    }
    let codes_only = dir.join("codes.hamdb");
    let codes_only = codes_only.to_str().unwrap();
    assert_eq!(hamdb(&["create", codes_only, "--bits", "48"]).0, 0);
    assert_eq!(hamdb(&["verify", codes_only]).0, 0);
}

/// `hamdb dedup`: JSON lines and the .npy file hold exactly the brute-force pairs, in order;
/// `--against` pairs two databases; a radius past the code length is refused.
#[test]
fn dedup_writes_every_near_duplicate_pair() {
    let dir = tempdir("cli-dedup");
    // Codes i (in the low 16 bits of a 48-bit code): pairs within 2 are exactly brute force's.
    let n = 300u32;
    let db = code_db(&dir, n);
    let mut want = Vec::new();
    for i in 0..n as u64 {
        for j in i + 1..n as u64 {
            let d = (i ^ j).count_ones();
            if d <= 2 {
                want.push((5000 + i, 5000 + j, d as u64));
            }
        }
    }
    want.sort_by_key(|&(a, b, d)| (a, d, b));
    let (rc, out, err) = hamdb(&["dedup", &db, "--radius", "2", "--quiet"]);
    assert_eq!(rc, 0, "{err}");
    let got: Vec<(u64, u64, u64)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["a"].as_u64().unwrap(),
                v["b"].as_u64().unwrap(),
                v["distance"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    let out_npy = dir.join("pairs.npy");
    let (rc, _, err) = hamdb(&[
        "dedup",
        &db,
        "-r",
        "2",
        "--npy",
        out_npy.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(
        err.contains(&format!("{} pairs within distance 2", want.len())),
        "{err}"
    );
    let bytes = std::fs::read(&out_npy).unwrap();
    let arr = npy::parse(&bytes).unwrap();
    assert_eq!(
        (arr.descr.as_str(), arr.shape.clone()),
        ("<u8", vec![want.len(), 3])
    );
    let flat: Vec<u64> = arr
        .data
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let rows: Vec<(u64, u64, u64)> = flat.chunks_exact(3).map(|r| (r[0], r[1], r[2])).collect();
    assert_eq!(rows, want);
    // Against itself: every item pairs with itself at 0, and every near pair both ways.
    let (rc, out, _) = hamdb(&["dedup", &db, "-r", "2", "--against", &db, "-q"]);
    assert_eq!(rc, 0);
    assert_eq!(out.lines().count(), n as usize + 2 * want.len());
    let (rc, _, err) = hamdb(&["dedup", &db, "-r", "49"]);
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("radius"), "{err}");
}

/// search-codes runs one batched search over every query: --threads changes nothing in the
/// output (0, the default, is automatic); over 256 is a usage error. create --expected-radius
/// records the radius (over the code length: exit 1).
#[test]
fn search_codes_threads_and_expected_radius() {
    let dir = tempdir("cli-threads");
    let db = code_db(&dir, 700);
    let q = dir.join("codes.npy");
    let q = q.to_str().unwrap();
    for reach in [["-k", "5"], ["--radius", "3"]] {
        let run = |threads: Option<&str>| {
            let mut args = vec![
                "search-codes",
                &db,
                "--queries",
                q,
                reach[0],
                reach[1],
                "--json",
            ];
            if let Some(t) = threads {
                args.extend(["--threads", t]);
            }
            let (rc, out, err) = hamdb(&args);
            assert_eq!(rc, 0, "{err}");
            out
        };
        let want = run(Some("1"));
        assert_eq!(want.lines().count(), 700);
        for t in [None, Some("0"), Some("3"), Some("256")] {
            assert_eq!(run(t), want, "--threads {t:?}");
        }
    }
    let hex = "000000000007";
    let (rc, _, err) = hamdb(&[
        "search-codes",
        &db,
        "--hex",
        hex,
        "-k",
        "1",
        "--threads",
        "257",
    ]);
    assert_eq!(rc, 2, "{err}");
    let r = dir.join("radius.hamdb");
    let r = r.to_str().unwrap();
    let (rc, _, err) = hamdb(&["create", r, "--bits", "48", "--expected-radius", "49"]);
    assert_eq!(rc, 1, "{err}");
    let (rc, _, err) = hamdb(&["create", r, "--bits", "48", "--expected-radius", "4"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(hamdb::Database::open(r).unwrap().expected_radius(), Some(4));
}

/// import-codes --codes-per-id stores runs of equal ids as items of several codes;
/// search-codes --set answers the given codes as one query; each item once, at its least
/// distance; dedup pairs items, not codes.
#[test]
fn items_of_several_codes_from_the_command_line() {
    let dir = tempdir("cli-multi");
    let db = dir.join("m.hamdb");
    let db = db.to_str().unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    assert_eq!(hamdb(&["create", db, "--bits", "16"]).0, 0);
    // Item 10: codes 0x0000, 0x00ff; item 20: 0xff00; item 30: 0x0f0f, 0xf0f0, 0x0001.
    let rows: [(u64, u16, u32); 6] = [
        (10, 0x0000, 1),
        (10, 0x00ff, 1),
        (20, 0xff00, 2),
        (30, 0x0f0f, 3),
        (30, 0xf0f0, 3),
        (30, 0x0001, 3),
    ];
    let codes: Vec<u8> = rows.iter().flat_map(|r| r.1.to_be_bytes()).collect();
    let ids: Vec<u8> = rows.iter().flat_map(|r| r.0.to_le_bytes()).collect();
    let labels: Vec<u8> = rows
        .iter()
        .flat_map(|r| (r.2 as i64).to_le_bytes())
        .collect();
    std::fs::write(p("codes.npy"), npy::write("|u1", &[6, 2], &codes)).unwrap();
    std::fs::write(p("ids.npy"), npy::write("<u8", &[6], &ids)).unwrap();
    std::fs::write(p("labels.npy"), npy::write("<i8", &[6], &labels)).unwrap();
    let (rc, out, err) = hamdb(&[
        "import-codes",
        db,
        &p("codes.npy"),
        "--ids",
        &p("ids.npy"),
        "--labels",
        &p("labels.npy"),
        "--codes-per-id",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("imported 3 items of 6 codes"), "{out}");
    assert_eq!(items(db), 3);
    let hits = |out: &str| -> Vec<Vec<(u64, u64)>> {
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["hits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| (h["id"].as_u64().unwrap(), h["distance"].as_u64().unwrap()))
                    .collect()
            })
            .collect()
    };
    // 0x0003 is 1 from item 30 (0x0001) and 2 from item 10 (0x0000), 10 from 20.
    let (rc, out, err) = hamdb(&["search-codes", db, "--hex", "0003", "-k", "5", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(hits(&out), vec![vec![(30, 1), (10, 2), (20, 10)]]);
    // As a set with 0xff01: item 20 is at 1 from it.
    let (rc, out, err) = hamdb(&[
        "search-codes",
        db,
        "--hex",
        "0003",
        "ff01",
        "--set",
        "-k",
        "2",
        "--json",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(hits(&out), vec![vec![(20, 1), (30, 1)]]);
    let (rc, out, _) = hamdb(&[
        "search-codes",
        db,
        "--hex",
        "0003",
        "ff01",
        "--set",
        "-r",
        "1",
        "--json",
    ]);
    assert_eq!(rc, 0);
    assert_eq!(hits(&out), vec![vec![(20, 1), (30, 1)]]);
    // Pairs of items: 10 and 30 at 1 (0x0000 vs 0x0001), once.
    let (rc, out, _) = hamdb(&["dedup", db, "-r", "4", "-q"]);
    assert_eq!(rc, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("\"a\":10") && out.contains("\"b\":30") && out.contains("\"distance\":1"));
    // An item whose codes disagree on the label is refused, and nothing is written.
    let bad: Vec<u8> = [1i64, 2, 2, 3, 3, 3]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    std::fs::write(p("bad.npy"), npy::write("<i8", &[6], &bad)).unwrap();
    let db2 = p("m2.hamdb");
    assert_eq!(hamdb(&["create", &db2, "--bits", "16"]).0, 0);
    let (rc, _, err) = hamdb(&[
        "import-codes",
        &db2,
        &p("codes.npy"),
        "--ids",
        &p("ids.npy"),
        "--labels",
        &p("bad.npy"),
        "--codes-per-id",
    ]);
    assert_eq!(rc, 1);
    assert!(err.contains("different labels"), "{err}");
    assert_eq!(items(&db2), 0);
    // --codes-per-id needs --ids.
    let (rc, _, _) = hamdb(&["import-codes", &db2, &p("codes.npy"), "--codes-per-id"]);
    assert_eq!(rc, 2);
}

/// search-codes --class-first C: label C's items first, then the rest, each group by distance.
#[test]
fn search_codes_class_first() {
    let dir = tempdir("cli-class-first");
    let db = dir.join("c.hamdb");
    let db = db.to_str().unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    assert_eq!(hamdb(&["create", db, "--bits", "16"]).0, 0);
    // Code i (i = 0..8), label i % 2.
    let codes: Vec<u8> = (0..8u16).flat_map(|i| i.to_be_bytes()).collect();
    let labels: Vec<u8> = (0..8i64).flat_map(|i| (i % 2).to_le_bytes()).collect();
    std::fs::write(p("codes.npy"), npy::write("|u1", &[8, 2], &codes)).unwrap();
    std::fs::write(p("labels.npy"), npy::write("<i8", &[8], &labels)).unwrap();
    let (rc, _, err) = hamdb(&[
        "import-codes",
        db,
        &p("codes.npy"),
        "--labels",
        &p("labels.npy"),
    ]);
    assert_eq!(rc, 0, "{err}");
    let ids = |out: &str| -> Vec<u64> {
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_u64().unwrap())
            .collect()
    };
    // From 0x0000: odd codes 1, 3, 5, 7 are at 1, 2, 2, 3; then even 0, 2, 4, 6 at 0, 1, 1, 2.
    let (rc, out, err) = hamdb(&[
        "search-codes",
        db,
        "--hex",
        "0000",
        "-k",
        "6",
        "--class-first",
        "1",
        "--json",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(ids(&out), vec![1, 3, 5, 7, 0, 2]);
    let (rc, out, _) = hamdb(&[
        "search-codes",
        db,
        "--hex",
        "0000",
        "-r",
        "1",
        "--class-first",
        "1",
        "--json",
    ]);
    assert_eq!(rc, 0);
    assert_eq!(ids(&out), vec![1, 0, 2, 4]);
    let (rc, out, _) = hamdb(&["search-codes", db, "--hex", "0000", "-k", "3", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(ids(&out), vec![0, 1, 2]);
}
