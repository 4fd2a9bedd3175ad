//! The compatibility set: 2,057 real n8n exports (`../shared/corpus/n8n-workflows`).
//! Every file imports or is rejected with a reason; import -> export -> import is the
//! identity; compiling twice gives the same bytes and plan id.

use std::path::{Path, PathBuf};

use linkflow_codec::{compile_export, model};

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/n8n-workflows");
    dir.is_dir().then_some(dir)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus folder is readable")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn corpus_files() -> Option<Vec<PathBuf>> {
    let Some(dir) = corpus_dir() else {
        println!("skipped: ../shared/corpus is absent");
        return None;
    };
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    assert!(
        files.len() > 2_000,
        "the corpus holds 2,057 files, found {}",
        files.len()
    );
    Some(files)
}

#[test]
fn every_corpus_file_imports_or_is_rejected_with_a_reason() {
    let Some(files) = corpus_files() else { return };
    let (mut imported, mut rejected) = (0, 0);
    for path in &files {
        let bytes = std::fs::read(path).expect("corpus file is readable");
        match model::import(&bytes) {
            Ok(_) => imported += 1,
            Err(error) => {
                assert!(error.code.starts_with("LF-"), "{}: {error}", path.display());
                assert!(
                    !error.message.is_empty(),
                    "{}: empty reason",
                    path.display()
                );
                rejected += 1;
            }
        }
    }
    println!(
        "corpus: {} files, {imported} imported, {rejected} rejected",
        files.len()
    );
    assert_eq!(imported + rejected, files.len());
    assert!(imported > files.len() * 9 / 10, "most real exports import");
}

#[test]
fn import_export_import_is_identical_for_every_corpus_file() {
    let Some(files) = corpus_files() else { return };
    for path in &files {
        let bytes = std::fs::read(path).expect("corpus file is readable");
        let original: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let Ok(first) = model::import_value(original.clone()) else {
            continue;
        };
        let exported = model::export(&first);
        assert_eq!(
            exported,
            original,
            "{}: export differs from the input",
            path.display()
        );
        let second = model::import_value(exported).expect("an export imports again");
        assert_eq!(second, first, "{}: re-import differs", path.display());
    }
}

#[test]
fn compiling_a_corpus_file_twice_gives_identical_bytes() {
    let Some(files) = corpus_files() else { return };
    let mut compiled = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("corpus file is readable");
        let Ok(first) = compile_export(&bytes) else {
            continue;
        };
        let second = compile_export(&bytes).expect("the same input compiles again");
        assert_eq!(&first.bytes[..], &second.bytes[..], "{}", path.display());
        assert_eq!(first.plan_id, second.plan_id, "{}", path.display());
        compiled += 1;
    }
    println!("corpus: {compiled} files compiled twice to identical plans");
    assert!(compiled > 0, "some corpus workflows compile");
}
