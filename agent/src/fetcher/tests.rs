use super::*;

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
    };
    Setup {
        src,
        sandbox,
        config,
        _dir: dir,
    }
}

fn tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
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
fn archives_are_extracted_unless_asked_not_to() {
    let s = setup();
    let content = s.src.join("content");
    fs::create_dir_all(content.join("dir")).unwrap();
    fs::write(content.join("dir/inner.txt"), "inside").unwrap();
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(s.src.join("bundle.tar.gz"))
        .arg("-C")
        .arg(&content)
        .arg("dir")
        .status()
        .unwrap();
    assert!(ok.success());
    fs::write(s.src.join("plain"), "gz body").unwrap();
    assert!(Command::new("gzip")
        .arg("-k")
        .arg(s.src.join("plain"))
        .status()
        .unwrap()
        .success());
    let tarball = s.src.join("bundle.tar.gz").display().to_string();
    let gz = s.src.join("plain.gz").display().to_string();
    fetch(&[uri(&tarball), uri(&gz)], &s.sandbox, None, &s.config).unwrap();
    assert_eq!(
        fs::read_to_string(s.sandbox.join("dir/inner.txt")).unwrap(),
        "inside"
    );
    assert!(s.sandbox.join("bundle.tar.gz").is_file());
    assert_eq!(
        fs::read_to_string(s.sandbox.join("plain")).unwrap(),
        "gz body"
    );

    let other = s.sandbox.join("other");
    fs::create_dir_all(&other).unwrap();
    let mut keep = uri(&tarball);
    keep.extract = Some(false);
    fetch(&[keep], &other, None, &s.config).unwrap();
    assert!(other.join("bundle.tar.gz").is_file());
    assert!(!other.join("dir").exists());
}

#[test]
fn zip_archives() {
    if !tool_available("zip") || !tool_available("unzip") {
        let msg = "skipping zip_archives: zip/unzip not installed";
        assert!(
            std::env::var("MESOS_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("{msg}");
        return;
    }
    let s = setup();
    fs::write(s.src.join("z.txt"), "zipped").unwrap();
    assert!(Command::new("zip")
        .current_dir(&s.src)
        .args(["-q", "a.zip", "z.txt"])
        .status()
        .unwrap()
        .success());
    fs::remove_file(s.src.join("z.txt")).unwrap();
    fetch(&[uri("a.zip")], &s.sandbox, None, &s.config).unwrap();
    assert_eq!(
        fs::read_to_string(s.sandbox.join("z.txt")).unwrap(),
        "zipped"
    );
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
    let again = s.sandbox.join("again");
    fs::create_dir_all(&again).unwrap();
    fetch(std::slice::from_ref(&u), &again, None, &s.config).unwrap();
    assert_eq!(fs::read_to_string(again.join("big.bin")).unwrap(), "v1");
    // Without `cache` the source is needed.
    u.cache = None;
    assert!(matches!(
        fetch(&[u], &again, None, &s.config),
        Err(FetchError::Io { .. })
    ));
}

#[test]
fn bad_uris_are_errors() {
    let s = setup();
    let e = fetch(
        &[uri("http://example.invalid/x")],
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
    fs::write(s.src.join("bad.tar.gz"), "not a tarball").unwrap();
    let e = fetch(&[uri("bad.tar.gz")], &s.sandbox, None, &s.config).unwrap_err();
    assert!(matches!(e, FetchError::Extract { tool: "tar", .. }), "{e}");
}

#[test]
fn archive_names() {
    assert_eq!(archive_kind("a.tar.gz"), Some(Archive::Tar));
    assert_eq!(archive_kind("a.tgz"), Some(Archive::Tar));
    assert_eq!(archive_kind("a.txz"), Some(Archive::Tar));
    assert_eq!(archive_kind("a.gz"), Some(Archive::Gzip));
    assert_eq!(archive_kind("a.zip"), Some(Archive::Zip));
    assert_eq!(archive_kind("a.txt"), None);
}
