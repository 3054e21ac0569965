use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    files: Files,
}

/// `<tmp>/sandbox/{stdout, sub/inner.txt, up -> ../secret, abs -> <tmp>/secret}` attached
/// at `/sb`, and `<tmp>/secret` outside it.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(dir.path()).unwrap();
    let root = base.join("sandbox");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("stdout"), b"hello world\n").unwrap();
    std::fs::write(root.join("sub/inner.txt"), b"inner").unwrap();
    let outside = base.join("secret");
    std::fs::write(&outside, b"top secret").unwrap();
    std::os::unix::fs::symlink("../secret", root.join("up")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("abs")).unwrap();
    std::os::unix::fs::symlink("sub/inner.txt", root.join("ok-link")).unwrap();
    let files = Files::new();
    files.attach(&root, "/sb/").unwrap();
    Fixture {
        _dir: dir,
        root,
        outside,
        files,
    }
}

#[test]
fn resolves_below_the_longest_attached_prefix() {
    let f = fixture();
    assert_eq!(f.files.resolve("/sb").unwrap(), f.root);
    assert_eq!(f.files.resolve("/sb/").unwrap(), f.root);
    assert_eq!(
        f.files.resolve("/sb/stdout").unwrap(),
        f.root.join("stdout")
    );
    assert_eq!(
        f.files.resolve("file:///sb/sub/inner.txt").unwrap(),
        f.root.join("sub/inner.txt")
    );
    // A link that stays inside is followed.
    assert_eq!(
        f.files.resolve("/sb/ok-link").unwrap(),
        f.root.join("sub/inner.txt")
    );
    // `..` that stays inside is fine.
    assert_eq!(
        f.files.resolve("/sb/sub/../stdout").unwrap(),
        f.root.join("stdout")
    );
    // A more specific attachment wins.
    f.files.attach(&f.root.join("sub"), "/sb/stdout").unwrap();
    assert_eq!(
        f.files.resolve("/sb/stdout/inner.txt").unwrap(),
        f.root.join("sub/inner.txt")
    );
}

#[test]
fn nothing_escapes_a_root() {
    let f = fixture();
    for escape in [
        "/sb/..",
        "/sb/../secret",
        "/sb/sub/../../secret",
        "/sb/up",
        "/sb/abs",
        "/sb/./../secret",
    ] {
        let e = f.files.resolve(escape).unwrap_err();
        assert_eq!(e.status(), 400, "{escape}: {e}");
        assert!(e.to_string().contains("inaccessible"), "{escape}: {e}");
        assert!(f.files.read(escape, 0, None).is_err(), "{escape}");
    }
    // Unattached and absolute paths are simply not there.
    for missing in [
        "/etc/passwd",
        f.outside.to_str().unwrap(),
        "/sb/nope",
        "/s",
        "sb/stdout",
        "/sb/%2e%2e/secret",
    ] {
        assert_eq!(
            f.files.resolve(missing).unwrap_err().status(),
            404,
            "{missing}"
        );
    }
}

#[test]
fn attached_files_and_detach() {
    let f = fixture();
    f.files
        .attach(&f.root.join("stdout"), "/only/stdout")
        .unwrap();
    assert_eq!(
        f.files.resolve("/only/stdout").unwrap(),
        f.root.join("stdout")
    );
    assert_eq!(f.files.resolve("/only/stdout/x").unwrap_err().status(), 404);
    assert!(f.files.is_attached("/only/stdout/"));
    f.files.detach("/only/stdout");
    assert_eq!(f.files.resolve("/only/stdout").unwrap_err().status(), 404);
    assert!(f.files.attach(&f.root.join("missing"), "/m").is_err());
}

#[test]
fn reads_with_offset_and_length() {
    let f = fixture();
    assert_eq!(
        f.files.read("/sb/stdout", 0, None).unwrap(),
        (12, b"hello world\n".to_vec())
    );
    assert_eq!(
        f.files.read("/sb/stdout", 6, Some(5)).unwrap(),
        (12, b"world".to_vec())
    );
    assert_eq!(f.files.read("/sb/stdout", 100, None).unwrap(), (12, vec![]));
    assert_eq!(
        f.files.read("/sb/stdout", 0, Some(0)).unwrap(),
        (12, vec![])
    );
    let e = f.files.read("/sb/sub", 0, None).unwrap_err();
    assert_eq!(e, FilesError::Invalid("Cannot read a directory.\n".into()));
    // Reads are capped at 16 pages.
    let big = vec![b'x'; 300_000];
    std::fs::write(f.root.join("big"), &big).unwrap();
    let (size, data) = f.files.read("/sb/big", 0, None).unwrap();
    assert_eq!(size, 300_000);
    assert_eq!(data.len() as u64, crate::sys::page_size().max(4096) * 16);
}

#[test]
fn browse_lists_entries_with_virtual_paths() {
    let f = fixture();
    let list = f.files.browse("/sb/").unwrap();
    let paths: Vec<&str> = list.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["/sb/abs", "/sb/ok-link", "/sb/stdout", "/sb/sub", "/sb/up"]
    );
    let stdout = &list[2];
    assert_eq!(stdout.size, Some(12));
    assert_eq!(mode_string(stdout.mode.unwrap()).len(), 10);
    assert!(mode_string(list[3].mode.unwrap()).starts_with('d'));
    assert_eq!(f.files.browse("/sb/stdout").unwrap(), vec![]);
    assert_eq!(f.files.browse("/nope").unwrap_err().status(), 404);
}

#[test]
fn mode_strings_like_ls() {
    assert_eq!(mode_string(0o100644), "-rw-r--r--");
    assert_eq!(mode_string(0o040755), "drwxr-xr-x");
    assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
}

#[test]
fn detach_if_keeps_a_path_taken_over_by_a_newer_run() {
    let f = fixture();
    let old = f.files.attach(&f.root.join("sub"), "/latest").unwrap();
    let new = f.files.attach(&f.root, "/latest").unwrap();
    f.files.detach_if("/latest", &old);
    assert_eq!(f.files.resolve("/latest").unwrap(), new);
    f.files.detach_if("/latest/", &new);
    assert_eq!(f.files.resolve("/latest").unwrap_err().status(), 404);
}
