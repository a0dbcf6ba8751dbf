//! `ddb export` and `ddb import` against DynamoDB Local: exports laid out the way AWS writes
//! them (built here with flate2 and md-5 directly, not with ddb's own writer), the round trip
//! of every DynamoDB type, bad input refused with nothing written, and Ctrl-C mid-import.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use common::exports::{b64, data_file, gzip, hex, line, write_export};
use common::proxy::Faults;
use common::{bare_ddb, run, spawn, wait_while_running, Item, TestEnv};
use md5::{Digest, Md5};

/// `n` message-like lines, numbered from `from`.
fn lines(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            line(
                &format!("MSG#{:04}", i % 7),
                &format!("2026-01-01T00:00:{:02}.{i:06}+00:00", i % 60),
                &format!(r#","message":{{"S":"message {i} ✓"}},"n":{{"N":"{i}"}}"#),
            )
        })
        .collect()
}

/// Sets come back in whatever order the engine keeps them: compare them sorted.
fn normalized(v: &AttributeValue) -> AttributeValue {
    match v {
        AttributeValue::Ss(s) => AttributeValue::Ss(sorted(s.clone())),
        AttributeValue::Ns(s) => AttributeValue::Ns(sorted(s.clone())),
        AttributeValue::Bs(s) => {
            let mut s = s.clone();
            s.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
            AttributeValue::Bs(s)
        }
        AttributeValue::L(l) => AttributeValue::L(l.iter().map(normalized).collect()),
        AttributeValue::M(m) => {
            AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), normalized(v))).collect())
        }
        other => other.clone(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn normalized_item(item: &Item) -> Item {
    item.iter()
        .map(|(k, v)| (k.clone(), normalized(v)))
        .collect()
}

/// A table's items, sets sorted, ordered by (pk, sk).
fn contents(env: &TestEnv) -> Vec<Item> {
    let mut items: Vec<Item> = env.scan_all().iter().map(normalized_item).collect();
    items.sort_by_key(|i| (format!("{:?}", i.get("pk")), format!("{:?}", i.get("sk"))));
    items
}

/// DynamoDB JSON (`{"S": "x"}`) into the SDK's value, written here after AWS's documented
/// format (not with ddb's parser).
fn typed_value(v: &serde_json::Value) -> AttributeValue {
    let object = v.as_object().expect("a typed value");
    assert_eq!(object.len(), 1, "{v}");
    let (tag, inner) = object.iter().next().unwrap();
    let text = |v: &serde_json::Value| v.as_str().expect("a string").to_string();
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().expect("an array").iter().map(text).collect()
    };
    let blob = |v: &serde_json::Value| {
        Blob::new(aws_smithy_types::base64::decode(v.as_str().unwrap()).expect("base64"))
    };
    match tag.as_str() {
        "S" => AttributeValue::S(text(inner)),
        "N" => AttributeValue::N(text(inner)),
        "B" => AttributeValue::B(blob(inner)),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(texts(inner)),
        "NS" => AttributeValue::Ns(texts(inner)),
        "BS" => AttributeValue::Bs(inner.as_array().unwrap().iter().map(blob).collect()),
        "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(typed_value).collect()),
        "M" => AttributeValue::M(typed_item(inner)),
        other => panic!("unknown type {other}"),
    }
}

fn typed_item(v: &serde_json::Value) -> Item {
    let object = v.as_object().expect("an item");
    object
        .iter()
        .map(|(k, v)| (k.clone(), typed_value(v)))
        .collect()
}

fn typed_items(lines: &[String]) -> Vec<Item> {
    let mut items: Vec<Item> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            normalized_item(&typed_item(&v["Item"]))
        })
        .collect();
    items.sort_by_key(|i| (format!("{:?}", i.get("pk")), format!("{:?}", i.get("sk"))));
    items
}

#[test]
fn a_hand_made_aws_export_imports_exactly() {
    let env = TestEnv::with_table("import-aws");
    let dir = tempfile::tempdir().unwrap();
    let first = lines(0, 40);
    let second = lines(40, 57);
    let third = lines(97, 3);
    write_export(
        dir.path(),
        &[
            data_file(&first),
            // An empty partition's file: no bytes at all.
            (Vec::new(), 0),
            data_file(&second),
            // Another empty one, as a gzip stream of nothing.
            (gzip("", 6), 0),
            data_file(&third),
        ],
    );
    // The folder `aws s3 cp --recursive` made: it holds AWSDynamoDB/<ExportId>/.
    let summary = run(env.ddb().args(["-o", "json", "import"]).arg(dir.path())).json();
    assert_eq!(summary["items"], 100, "{summary}");
    assert_eq!(summary["files"], 5, "{summary}");
    assert_eq!(summary["items_written"], 100, "{summary}");
    assert_eq!(summary["failed_items"], 0, "{summary}");
    let all: Vec<String> = [first, second, third].concat();
    assert_eq!(contents(&env), typed_items(&all));
}

#[test]
fn the_export_folder_itself_and_a_lone_data_file_import_too() {
    let env = TestEnv::with_table("import-paths");
    let dir = tempfile::tempdir().unwrap();
    let export = write_export(dir.path(), &[data_file(&lines(0, 10))]);
    let out = run(env.ddb().arg("import").arg(&export)).ok();
    assert!(out.contains("imported 10 items from 1 file into"), "{out}");
    let plain = dir.path().join("more.json");
    std::fs::write(&plain, lines(10, 5).join("\n")).unwrap();
    let summary = run(env.ddb().args(["-o", "json", "import"]).arg(&plain)).json();
    assert_eq!(summary["items_written"], 5, "{summary}");
    assert_eq!(env.count(), 15);
}

/// Every DynamoDB type, and the edges of each, through `ddb export` and `ddb import` into a
/// second table: the two tables hold the same items.
#[test]
fn round_trip_is_exact_for_every_type() {
    let source = TestEnv::with_table("roundtrip-src");
    let copy = TestEnv::with_table("roundtrip-copy");
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: &str| AttributeValue::N(v.into());
    let mut deep = AttributeValue::M([("leaf".to_string(), s("bottom"))].into());
    for level in 0..30 {
        deep = if level % 2 == 0 {
            AttributeValue::L(vec![deep, n("1")])
        } else {
            AttributeValue::M([(format!("level{level}"), deep)].into())
        };
    }
    let bytes: Vec<u8> = (0..=255).collect();
    let every_type: Item = [
        ("pk", s("TYPES#1")),
        ("sk", s("every")),
        (
            "s_unicode",
            s("héllo wörld ✓ 👋🏽 שלום 你好 \u{200b}\u{1F600} \"quotes\" \\ \n\t\r \u{1b}[31m"),
        ),
        ("s_empty", s("")),
        ("n_38_digits", n("12345678901234567890123456789012345678")),
        (
            "n_negative_38",
            n("-0.12345678901234567890123456789012345678"),
        ),
        ("n_max", n("9.9999999999999999999999999999999999999E+125")),
        (
            "n_min_negative",
            n("-9.9999999999999999999999999999999999999E+125"),
        ),
        ("n_tiny", n("1E-130")),
        ("n_tiny_negative", n("-1E-130")),
        ("n_zero", n("0")),
        ("b_all_bytes", AttributeValue::B(Blob::new(bytes.clone()))),
        ("b_empty", AttributeValue::B(Blob::new(Vec::new()))),
        (
            "ss",
            AttributeValue::Ss(vec!["a".into(), "é".into(), "👋".into(), "".into()]),
        ),
        (
            "ns",
            AttributeValue::Ns(vec![
                "1".into(),
                "-1E-130".into(),
                "12345678901234567890123456789012345678".into(),
            ]),
        ),
        (
            "bs",
            AttributeValue::Bs(vec![
                Blob::new(vec![0]),
                Blob::new(bytes),
                Blob::new(b"x".to_vec()),
            ]),
        ),
        (
            "l",
            AttributeValue::L(vec![
                s("x"),
                n("2"),
                AttributeValue::Null(true),
                AttributeValue::Bool(false),
                AttributeValue::L(vec![]),
            ]),
        ),
        ("l_empty", AttributeValue::L(vec![])),
        ("m_empty", AttributeValue::M(Default::default())),
        ("m_deep", deep),
        ("null", AttributeValue::Null(true)),
        ("bool_true", AttributeValue::Bool(true)),
        ("bool_false", AttributeValue::Bool(false)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut items = vec![every_type];
    // Plus enough ordinary items that several segments have pages to write.
    for i in 0..300 {
        items.push(
            [
                ("pk", s(&format!("MSG#{}", i % 13))),
                ("sk", s(&format!("2026-01-01T00:00:00.{i:06}+00:00"))),
                ("message", s(&format!("message {i}"))),
                ("message_group_uuid", s(&format!("group-{}", i % 5))),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
    }
    source.put_items(items);
    let original = contents(&source);
    assert_eq!(original.len(), 301);

    let dir = tempfile::tempdir().unwrap();
    let exported = run(source
        .ddb()
        .args(["-o", "json", "export"])
        .arg(dir.path())
        .args(["--segments", "3"]))
    .json();
    assert_eq!(exported["items"], 301, "{exported}");
    assert_eq!(exported["files"], 3, "{exported}");
    let imported = run(copy.ddb().args(["-o", "json", "import"]).arg(dir.path())).json();
    assert_eq!(imported["items_written"], 301, "{imported}");
    assert_eq!(contents(&copy), original);
}

/// The export's own manifests check out independently of ddb's reader: the summary's and the
/// files manifest's checksums, each data file's MD5, ETag and item count.
#[test]
fn exported_manifests_match_the_files() {
    let env = TestEnv::with_table("export-manifest");
    run(env.ddb().arg("seed")).ok();
    let items = env.count() as u64;
    let dir = tempfile::tempdir().unwrap();
    let out = run(env.ddb().args(["-o", "json", "export"]).arg(dir.path())).json();
    let export = PathBuf::from(out["export_dir"].as_str().unwrap());
    let id = out["export_id"].as_str().unwrap();
    assert_eq!(export, dir.path().join("AWSDynamoDB").join(id));
    assert!(export.join("_started").is_file());
    let summary_text = std::fs::read(export.join("manifest-summary.json")).unwrap();
    for ext in ["md5", "checksum"] {
        assert_eq!(
            std::fs::read_to_string(export.join(format!("manifest-summary.{ext}"))).unwrap(),
            b64(&Md5::digest(&summary_text))
        );
    }
    let summary: serde_json::Value = serde_json::from_slice(&summary_text).unwrap();
    assert_eq!(summary["version"], "2020-06-30");
    assert_eq!(summary["outputFormat"], "DYNAMODB_JSON");
    assert_eq!(summary["itemCount"], items);
    assert_eq!(
        summary["manifestFilesS3Key"],
        format!("AWSDynamoDB/{id}/manifest-files.json")
    );
    let files_text = std::fs::read(export.join("manifest-files.json")).unwrap();
    assert_eq!(
        std::fs::read_to_string(export.join("manifest-files.md5")).unwrap(),
        b64(&Md5::digest(&files_text))
    );
    let mut total = 0;
    let entries: Vec<serde_json::Value> = files_text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    // One data file per segment: 64 by default on a local endpoint (docs/commands.md, scan).
    assert_eq!(entries.len(), 64, "one data file per segment");
    for entry in entries {
        let key = entry["dataFileS3Key"].as_str().unwrap();
        let rel = key.strip_prefix(&format!("AWSDynamoDB/{id}/")).unwrap();
        let bytes = std::fs::read(export.join(rel)).unwrap();
        assert_eq!(entry["md5Checksum"], b64(&Md5::digest(&bytes)), "{key}");
        assert_eq!(entry["etag"], hex(&Md5::digest(&bytes)), "{key}");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        let count = text.lines().count() as u64;
        assert_eq!(entry["itemCount"], count, "{key}");
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["Item"]["pk"]["S"].is_string(), "{l}");
        }
        total += count;
    }
    assert_eq!(total, items);
}

/// Runs an import that must be refused: exit 8, the expected words on stderr, and not one
/// item in the table.
fn refused(env: &TestEnv, path: &Path, expected: &[&str]) {
    let r = run(env.ddb().arg("import").arg(path));
    assert_eq!(r.code, 8, "stderr: {}", r.stderr);
    for want in expected {
        assert!(r.stderr.contains(want), "want {want:?} in: {}", r.stderr);
    }
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert_eq!(env.count(), 0, "nothing may be written");
}

/// Rewrite manifest-files.json's entry for data file `i` and its checksum file, as if the
/// export had been made that way (so that only the data file itself is wrong).
fn fix_manifest(export: &Path, i: usize, bytes: &[u8]) {
    let path = export.join("manifest-files.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[i]["md5Checksum"] = b64(&Md5::digest(bytes)).into();
    lines[i]["etag"] = hex(&Md5::digest(bytes)).into();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    std::fs::write(
        export.join("manifest-files.md5"),
        b64(&Md5::digest(text.as_bytes())),
    )
    .unwrap();
}

fn data_path(export: &Path, i: usize) -> PathBuf {
    export
        .join("data")
        .join(format!("file{i}abcdefghijklmnopqrstu.json.gz"))
}

#[test]
fn a_data_file_that_does_not_match_its_checksum_is_refused() {
    let env = TestEnv::with_table("import-md5");
    let dir = tempfile::tempdir().unwrap();
    let second = lines(60, 60);
    let export = write_export(dir.path(), &[data_file(&lines(0, 60)), data_file(&second)]);
    // Same items, other bytes (another compression level): only the checksum can tell.
    let text: String = second.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(data_path(&export, 1), gzip(&text, 1)).unwrap();
    let shown = data_path(&export, 1).display().to_string();
    refused(
        &env,
        dir.path(),
        &[&shown, "MD5 is", "but the manifest says"],
    );
}

#[test]
fn an_edited_manifest_is_refused() {
    let env = TestEnv::with_table("import-manifest-md5");
    let dir = tempfile::tempdir().unwrap();
    let export = write_export(dir.path(), &[data_file(&lines(0, 30))]);
    let path = export.join("manifest-summary.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"billedSizeBytes\":0", "\"billedSizeBytes\":1"),
    )
    .unwrap();
    refused(
        &env,
        dir.path(),
        &["manifest-summary.json: MD5 is", "manifest-summary.md5 says"],
    );
}

#[test]
fn a_truncated_gzip_is_refused() {
    let env = TestEnv::with_table("import-truncated");
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = data_file(&lines(100, 200));
    let export = write_export(
        dir.path(),
        &[data_file(&lines(0, 100)), data_file(&lines(100, 200))],
    );
    // Cut the second file short, and record the cut file in the manifest, so that only the
    // gzip stream itself can tell (the way a file truncated before upload would look).
    let cut = &bytes[..bytes.len() * 2 / 3];
    std::fs::write(data_path(&export, 1), cut).unwrap();
    fix_manifest(&export, 1, cut);
    let shown = data_path(&export, 1).display().to_string();
    refused(
        &env,
        dir.path(),
        &[&format!("{shown}:"), "gzip data is truncated or corrupt"],
    );

    // The same file on its own (no manifest at all): the gzip stream alone tells.
    refused(
        &env,
        &data_path(&export, 1),
        &["gzip data is truncated or corrupt"],
    );
}

#[test]
fn a_bad_line_is_refused_with_its_file_and_line() {
    let env = TestEnv::with_table("import-bad-line");
    let dir = tempfile::tempdir().unwrap();
    let mut second = lines(50, 50);
    second[16] = second[16].replace("}}}", "}}"); // line 17 loses its closing brace
    let export = write_export(dir.path(), &[data_file(&lines(0, 50)), data_file(&second)]);
    let shown = data_path(&export, 1).display().to_string();
    refused(
        &env,
        dir.path(),
        &[&format!("{shown}:17: EOF while parsing")],
    );

    // A plain .json data file: a line that is not an {"Item": …} object.
    let plain = dir.path().join("items.json");
    let mut text = lines(0, 30);
    text[29] = r#"{"NewImage":{"pk":{"S":"x"}}}"#.into();
    std::fs::write(&plain, text.join("\n")).unwrap();
    refused(
        &env,
        &plain,
        &[&format!("{}:30: expected {{\"Item\"", plain.display())],
    );
}

#[test]
fn a_wrong_key_type_is_refused() {
    let env = TestEnv::with_table("import-key-type");
    let dir = tempfile::tempdir().unwrap();
    let mut second = lines(40, 40);
    second[25] = r#"{"Item":{"pk":{"S":"MSG#1"},"sk":{"N":"5"},"message":{"S":"x"}}}"#.into();
    let export = write_export(dir.path(), &[data_file(&lines(0, 40)), data_file(&second)]);
    let shown = data_path(&export, 1).display().to_string();
    refused(
        &env,
        dir.path(),
        &[&format!(
            "{shown}:26: 'sk' is the sort key and must be S, not N"
        )],
    );

    // An index key of the wrong type would fail the write just the same.
    let plain = dir.path().join("gsi.json");
    let mut text = lines(0, 10);
    text[3] = line("MSG#1", "2026", r#","message_group_uuid":{"N":"1"}"#);
    std::fs::write(&plain, text.join("\n")).unwrap();
    refused(
        &env,
        &plain,
        &[&format!(
            "{}:4: 'message_group_uuid' is the key of index message-group-sk-index and must be S, not N",
            plain.display()
        )],
    );
}

#[test]
fn a_missing_table_or_a_remote_target_without_yes_writes_nothing() {
    let env = TestEnv::new("import-no-table");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.json");
    std::fs::write(&file, lines(0, 3).join("\n")).unwrap();
    let r = run(env.ddb().arg("import").arg(&file));
    r.assert_exit(4, &["not found"]);

    // A remote endpoint (not loopback) is refused before any request is made.
    let r = run(bare_ddb()
        .args([
            "--endpoint-url",
            "http://192.0.2.1:9",
            "--region",
            "us-east-1",
            "import",
        ])
        .arg(&file));
    r.assert_exit(6, &["pass --yes"]);
}

/// Ctrl-C in the middle of the write pass: exit 130, the summary says exactly what is in the
/// table, and running the same import again completes it. Throttling through the proxy keeps
/// the run slow enough to interrupt.
#[test]
fn ctrl_c_mid_import_then_rerun_converges() {
    let env = TestEnv::with_table("import-interrupt");
    let dir = tempfile::tempdir().unwrap();
    let all = lines(0, 2000);
    write_export(
        dir.path(),
        &[
            data_file(&all[..700]),
            data_file(&all[700..1500]),
            data_file(&all[1500..]),
        ],
    );
    let proxy = env.proxy(Faults {
        throttle: 0.5,
        seed: 11,
        max_consecutive: 3,
        ..Faults::on(&["BatchWriteItem"])
    });
    let import = ["-o", "json", "import", "--concurrency", "1"];
    let mut child = spawn(proxy.ddb().args(import).arg(dir.path()));
    let limit = Duration::from_secs(60);
    wait_while_running(&mut child, limit, "50 items written", || env.count() >= 50);
    let out = common::interrupt(child);
    env.assert_interrupted_write(&out, 2000);

    // The same import again, straight to DynamoDB Local, finishes the job: every item, once.
    let summary = run(env.ddb().args(["-o", "json", "import"]).arg(dir.path())).json();
    assert_eq!(summary["items_written"], 2000, "{summary}");
    assert_eq!(contents(&env), typed_items(&all));
}

/// Ctrl-C in the middle of an export: exit 130 and no folder left behind that could pass for
/// an export. Every Scan page is throttled twice (the SDK retries with backoff), so the export
/// takes seconds, and the interrupt lands while pages are still being read.
#[test]
fn ctrl_c_mid_export_leaves_nothing_behind() {
    let env = TestEnv::with_table("export-interrupt");
    let big = "x".repeat(10_000);
    env.put_items(
        (0..400)
            .map(|i| {
                [
                    ("pk", AttributeValue::S(format!("MSG#{i}"))),
                    ("sk", AttributeValue::S("s".into())),
                    ("body", AttributeValue::S(big.clone())),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
            })
            .collect(),
    );
    let proxy = env.proxy(Faults {
        throttle: 1.0,
        seed: 3,
        max_consecutive: 2,
        ..Faults::on(&["Scan"])
    });
    let dir = tempfile::tempdir().unwrap();
    let export = ["export", "--segments", "1"];
    let mut child = spawn(proxy.ddb().args(export).arg(dir.path()));
    let exports = dir.path().join("AWSDynamoDB");
    let limit = Duration::from_secs(60);
    wait_while_running(&mut child, limit, "a Scan", || proxy.stats().throttled > 0);
    assert!(exports.is_dir(), "the export folder exists while it runs");
    let out = common::interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!exports.exists(), "the unfinished export was removed");
}

/// `depth` lists one inside the other around a string, as DynamoDB JSON.
fn nested(depth: usize) -> String {
    let mut v = r#"{"S":"leaf"}"#.to_string();
    for _ in 0..depth {
        v = format!(r#"{{"L":[{v}]}}"#);
    }
    v
}

/// Issue 17, case 6: item 1,500 of a 3,000-line file nested 32 levels deep (DynamoDB counts
/// the item as the first of its 32 levels) is refused by the check: exit 8, nothing written.
/// 31 levels are accepted and read back exactly.
#[test]
fn an_item_nested_past_dynamodbs_limit_is_refused_before_any_write() {
    let env = TestEnv::with_table("import-deep");
    let dir = tempfile::tempdir().unwrap();
    let mut all = lines(0, 3000);
    all[1499] = line(
        "MSG#deep",
        "2026-01-01T00:00:00Z",
        &format!(r#","deep":{}"#, nested(32)),
    );
    let file = dir.path().join("items.json");
    std::fs::write(&file, all.join("\n")).unwrap();
    refused(
        &env,
        &file,
        &[":1500: deep", "nested deeper than DynamoDB's 32 levels"],
    );
    // One level less is what DynamoDB takes.
    all[1499] = line(
        "MSG#deep",
        "2026-01-01T00:00:00Z",
        &format!(r#","deep":{}"#, nested(31)),
    );
    std::fs::write(&file, all.join("\n")).unwrap();
    let summary = run(env.ddb().args(["-o", "json", "import"]).arg(&file)).json();
    assert_eq!(summary["items_written"], 3000, "{summary}");
    assert_eq!(contents(&env), typed_items(&all));
}

/// What DynamoDB cannot hold is refused by the check too: numbers out of range or with more
/// than 38 digits, empty map keys. Numbers it can hold keep every digit.
#[test]
fn numbers_and_map_keys_are_checked_as_dynamodb_does() {
    let env = TestEnv::with_table("import-numbers");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.json");
    for (bad, want) in [
        (
            r#","n":{"N":"1e400"}"#,
            "n: '1e400' is out of DynamoDB's number range",
        ),
        (
            r#","n":{"N":"123456789012345678901234567890123456789"}"#,
            "39 significant digits",
        ),
        (
            r#","m":{"M":{"":{"S":"x"}}}"#,
            "m: a map key (attribute name) is empty",
        ),
    ] {
        let mut all = lines(0, 30);
        all[20] = line("MSG#n", "2026-01-01T00:00:00Z", bad);
        std::fs::write(&file, all.join("\n")).unwrap();
        refused(&env, &file, &[":21: ", want]);
    }
    let digits = "12345678901234567890123456789012345678";
    let good = [
        line("MSG#n", "big", r#","n":{"N":"1E+125"}"#),
        line("MSG#n", "tiny", r#","n":{"N":"-1E-130"}"#),
        line("MSG#n", "digits", &format!(r#","n":{{"N":"{digits}"}}"#)),
    ];
    std::fs::write(&file, good.join("\n")).unwrap();
    run(env.ddb().arg("import").arg(&file)).ok();
    let n = |sk: &str| {
        env.query_pk("MSG#n")
            .into_iter()
            .find(|i| common::s(i, "sk") == sk)
            .unwrap()["n"]
            .clone()
    };
    // DynamoDB holds them with every digit written out.
    assert_eq!(n("big"), AttributeValue::N(format!("1{}", "0".repeat(125))));
    assert_eq!(
        n("tiny"),
        AttributeValue::N(format!("-0.{}1", "0".repeat(129)))
    );
    assert_eq!(n("digits"), AttributeValue::N(digits.into()));
}

/// A write that fails anyway (DynamoDB refuses a batch for good: the proxy answers
/// ValidationException) stops with exit 7, in one line that names the count, no SDK dump; the
/// summary counts exactly what is in the table.
#[test]
fn a_write_that_fails_anyway_is_one_line_naming_the_count() {
    let env = TestEnv::with_table("import-refused");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.json");
    std::fs::write(&file, lines(0, 3000).join("\n")).unwrap();
    let proxy = env.proxy(Faults {
        reject: 0.05,
        seed: 5,
        ..Faults::on(&["BatchWriteItem"])
    });
    let r = run(proxy
        .ddb()
        .args(["-o", "json", "import", "--concurrency", "1"])
        .arg(&file));
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(proxy.stats().rejected > 0);
    let summary: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let written = summary["items_written"].as_u64().unwrap();
    assert!(written > 0 && written < 3000, "{summary}");
    assert_eq!(
        env.count() as u64,
        written,
        "the summary is what the table holds"
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    let want = format!("error: {} of 3000 items were NOT written", 3000 - written);
    assert!(lines[0].starts_with(&want), "{}", lines[0]);
    assert!(
        lines[0]
            .contains("ValidationException on BatchWriteItem: The request was refused for good."),
        "{}",
        lines[0]
    );
    for dump in ["Error {", "request_id", "ErrorMetadata", "extras"] {
        assert!(!lines[0].contains(dump), "{dump}: {}", lines[0]);
    }
}

/// Every checksum file next to a manifest is checked: a wrong .checksum is refused even when
/// the .md5 beside it is right.
#[test]
fn a_wrong_checksum_file_is_refused_even_beside_a_right_md5() {
    let env = TestEnv::with_table("import-checksum");
    let dir = tempfile::tempdir().unwrap();
    let export = write_export(dir.path(), &[data_file(&lines(0, 10))]);
    std::fs::write(
        export.join("manifest-summary.checksum"),
        "AAAAAAAAAAAAAAAAAAAAAA==",
    )
    .unwrap();
    refused(
        &env,
        dir.path(),
        &["manifest-summary.checksum says AAAAAAAAAAAAAAAAAAAAAA=="],
    );
}

/// Issue 17, case 4: seed, export, newer messages (the handler moves the rows), then the older
/// export imported and the handler run again: one row per participant, at the newest message.
#[test]
fn importing_an_older_export_keeps_the_invariant() {
    use common::invariant::{assert_invariant, carried};
    let env = TestEnv::with_table("import-older");
    run(env.ddb().args(["seed", "--now", "2026-01-01T12:00:00Z"])).ok();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    run(env.ddb().arg("export").arg(&snap)).ok();
    for i in 1..=5 {
        let put = common::put_message(common::MAIN_GROUP, "bayko");
        run(env
            .ddb()
            .args(put)
            .args(["--message", &format!("newer {i}")]))
        .ok();
    }
    let handler = |env: &TestEnv| {
        let out = common::records::from_trim_horizon(env.ddb(), &[]).json();
        assert_eq!(out["summary"]["failed"], 0, "{out:#}");
    };
    handler(&env);
    assert_invariant(&env, "after the newer messages");
    let before = env.count();
    let summary = run(env.ddb().args(["-o", "json", "import"]).arg(&snap)).json();
    let rows = assert_invariant(&env, "after importing the older export");
    assert_eq!(carried(&rows, common::MAIN_GROUP).1, "newer 5");
    assert_eq!(env.count(), before, "nothing duplicated");
    assert_eq!(summary["conversations_settled"], 4, "{summary}");
    assert_eq!(
        summary["rows_deleted"], 2,
        "the older export's two rows: {summary}"
    );
    handler(&env);
    assert_invariant(&env, "after the handler");
    assert_eq!(env.count(), before);
    // Into an empty table the same export is already consistent: nothing to settle.
    let copy = TestEnv::with_table("import-older-copy");
    let summary = run(copy.ddb().args(["-o", "json", "import"]).arg(&snap)).json();
    assert_invariant(&copy, "the export imported into an empty table");
    assert_eq!(summary["conversations"], 4, "{summary}");
    assert_eq!(summary["conversations_settled"], 0, "{summary}");
}
