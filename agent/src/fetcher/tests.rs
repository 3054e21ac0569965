use std::io::Write;
use std::process::Command;

use super::*;

mod archives;
mod http;

fn uri(value: &str) -> Uri {
    Uri {
        value: value.to_string(),
        ..Default::default()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    src: PathBuf,
    sandbox: PathBuf,
    config: FetcherConfig,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let sandbox = dir.path().join("sandbox");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&sandbox).unwrap();
    let config = FetcherConfig {
        frameworks_home: Some(src.clone()),
        cache_dir: dir.path().join("cache"),
        ..FetcherConfig::default()
    };
    Setup {
        src,
        sandbox,
        config,
        _dir: dir,
    }
}

/// A fresh, empty sandbox folder beside the first one.
fn another_sandbox(s: &Setup, name: &str) -> PathBuf {
    let dir = s.sandbox.with_file_name(name);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn local_paths_file_uris_and_relative_paths() {
    let s = setup();
    fs::write(s.src.join("a.txt"), "hello").unwrap();
    let abs = s.src.join("a.txt").display().to_string();
    let file_uri = format!("file://{abs}");
    let mut renamed = uri(&abs);
    renamed.output_file = Some("sub/b.txt".into());
    let got = fetch(
        &[uri(&abs), uri(&file_uri), uri("a.txt"), renamed],
        &s.sandbox,
        None,
        &s.config,
    )
    .unwrap();
    assert_eq!(got[0], s.sandbox.join("a.txt"));
    assert_eq!(got[3], s.sandbox.join("sub/b.txt"));
    assert_eq!(
        fs::read_to_string(s.sandbox.join("sub/b.txt")).unwrap(),
        "hello"
    );
    let mode = fs::metadata(&got[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0);
}

#[test]
fn executable_bit() {
    let s = setup();
    fs::write(s.src.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    let mut u = uri(&s.src.join("run.sh").display().to_string());
    u.executable = Some(true);
    let got = fetch(&[u], &s.sandbox, None, &s.config).unwrap();
    let mode = fs::metadata(&got[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let out = Command::new(&got[0]).output().unwrap();
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn an_executable_archive_is_not_extracted() {
    let s = setup();
    archives::write_tar_gz(&s.src.join("tool.tgz"), &[("inner", b"x")]);
    let mut u = uri("tool.tgz");
    u.executable = Some(true);
    fetch(&[u], &s.sandbox, None, &s.config).unwrap();
    assert!(s.sandbox.join("tool.tgz").is_file());
    assert!(!s.sandbox.join("inner").exists());
}

#[test]
fn cache_serves_later_fetches() {
    let s = setup();
    let src = s.src.join("big.bin");
    fs::write(&src, "v1").unwrap();
    let mut u = uri(&src.display().to_string());
    u.cache = Some(true);
    fetch(std::slice::from_ref(&u), &s.sandbox, None, &s.config).unwrap();
    fs::remove_file(&src).unwrap();
    let again = another_sandbox(&s, "again");
    fetch(std::slice::from_ref(&u), &again, None, &s.config).unwrap();
    assert_eq!(fs::read_to_string(again.join("big.bin")).unwrap(), "v1");
    // Without `cache` the source is needed.
    u.cache = None;
    assert!(matches!(
        fetch(&[u], &again, None, &s.config),
        Err(FetchError::Io { .. })
    ));
    // Nothing but entries is left in the cache dir (no staging files).
    let names: Vec<String> = fs::read_dir(&s.config.cache_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("entry-"), "{names:?}");
}

#[test]
fn cache_entries_are_per_user() {
    let s = setup();
    let cache = Cache::new(&s.config.cache_dir, 100);
    assert_ne!(cache.entry("0", "/a"), cache.entry("1000", "/a"));
    assert_ne!(cache.entry("0", "/a"), cache.entry("0", "/b"));
    assert_eq!(cache.entry("0", "/a"), cache.entry("0", "/a"));
}

#[test]
fn cache_evicts_the_least_recently_used_entry() {
    let mut s = setup();
    s.config.cache_size = 10;
    let cached = |name: &str| {
        let mut u = uri(name);
        u.cache = Some(true);
        u
    };
    for (name, body) in [("a", "aaaa"), ("b", "bbbb"), ("c", "cccc")] {
        fs::write(s.src.join(name), body).unwrap();
    }
    fetch(&[cached("a")], &s.sandbox, None, &s.config).unwrap();
    fetch(&[cached("b")], &another_sandbox(&s, "s2"), None, &s.config).unwrap();
    // A hit makes `a` the most recently used...
    fetch(&[cached("a")], &another_sandbox(&s, "s3"), None, &s.config).unwrap();
    // ...so making room for `c` (4 + 4 + 4 > 10) evicts `b`.
    fetch(&[cached("c")], &another_sandbox(&s, "s4"), None, &s.config).unwrap();
    let cache = Cache::new(&s.config.cache_dir, s.config.cache_size);
    let total: u64 = cache.entries().unwrap().iter().map(|(_, l, _)| l).sum();
    assert_eq!(total, 8);
    for name in ["a", "b", "c"] {
        fs::remove_file(s.src.join(name)).unwrap();
    }
    let last = another_sandbox(&s, "s5");
    fetch(&[cached("a"), cached("c")], &last, None, &s.config).unwrap();
    assert_eq!(fs::read_to_string(last.join("a")).unwrap(), "aaaa");
    assert_eq!(fs::read_to_string(last.join("c")).unwrap(), "cccc");
    let e = fetch(&[cached("b")], &last, None, &s.config).unwrap_err();
    assert!(e.to_string().contains("'b'"), "{e}");
}

#[test]
fn an_artifact_larger_than_the_cache_is_fetched_but_not_cached() {
    let mut s = setup();
    s.config.cache_size = 3;
    fs::write(s.src.join("big"), "too big").unwrap();
    let mut u = uri("big");
    u.cache = Some(true);
    fetch(std::slice::from_ref(&u), &s.sandbox, None, &s.config).unwrap();
    assert_eq!(
        fs::read_to_string(s.sandbox.join("big")).unwrap(),
        "too big"
    );
    let cache = Cache::new(&s.config.cache_dir, s.config.cache_size);
    assert!(cache.entries().unwrap().is_empty());
}

#[test]
fn bad_uris_are_errors() {
    let s = setup();
    let e = fetch(
        &[uri("ftp://example.invalid/x")],
        &s.sandbox,
        None,
        &s.config,
    )
    .unwrap_err();
    assert!(matches!(e, FetchError::Unsupported(_)), "{e}");
    let mut escape = uri("/etc/hostname");
    escape.output_file = Some("../../x".into());
    let e = fetch(&[escape], &s.sandbox, None, &s.config).unwrap_err();
    assert!(e.to_string().contains("leave the sandbox"), "{e}");
    let mut abs = uri("/etc/hostname");
    abs.output_file = Some("/tmp/x".into());
    assert!(fetch(&[abs], &s.sandbox, None, &s.config).is_err());
    assert!(fetch(&[uri("/")], &s.sandbox, None, &s.config).is_err());
    assert!(fetch(&[uri("")], &s.sandbox, None, &s.config).is_err());
    let no_home = FetcherConfig {
        frameworks_home: None,
        ..s.config.clone()
    };
    let e = fetch(&[uri("rel.txt")], &s.sandbox, None, &no_home).unwrap_err();
    assert!(e.to_string().contains("rel.txt"), "{e}");
    let e = fetch(&[uri("/no/such/file")], &s.sandbox, None, &s.config).unwrap_err();
    assert!(e.to_string().contains("/no/such/file"), "{e}");
    // A corrupt archive is an extraction error naming the uri.
    let mut f = fs::File::create(s.src.join("bad.tar.gz")).unwrap();
    f.write_all(b"not a tarball").unwrap();
    let e = fetch(&[uri("bad.tar.gz")], &s.sandbox, None, &s.config).unwrap_err();
    assert!(matches!(e, FetchError::Extract { tool: "tar", .. }), "{e}");
    assert!(e.to_string().contains("bad.tar.gz"), "{e}");
}

#[test]
fn archive_names() {
    assert_eq!(
        archive_kind("a.tar.gz"),
        Some(Archive::Tar(Compression::Gzip))
    );
    assert_eq!(archive_kind("a.tgz"), Some(Archive::Tar(Compression::Gzip)));
    assert_eq!(archive_kind("a.txz"), Some(Archive::Tar(Compression::Xz)));
    assert_eq!(
        archive_kind("a.tar.xz"),
        Some(Archive::Tar(Compression::Xz))
    );
    assert_eq!(
        archive_kind("a.tbz2"),
        Some(Archive::Tar(Compression::Bzip2))
    );
    assert_eq!(archive_kind("a.tar"), Some(Archive::Tar(Compression::None)));
    assert_eq!(archive_kind("a.gz"), Some(Archive::Gzip));
    assert_eq!(archive_kind("a.zip"), Some(Archive::Zip));
    assert_eq!(archive_kind("a.txt"), None);
}
