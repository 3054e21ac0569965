//! Every archive kind, built in the test with the same pure-Rust crates.

use std::io::Write;

use super::*;

/// A tarball (uncompressed) holding `files` (path, bytes), the first one executable.
fn tar_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (i, (path, body)) in files.iter().enumerate() {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(if i == 0 { 0o755 } else { 0o644 });
        h.set_cksum();
        b.append_data(&mut h, path, *body).unwrap();
    }
    b.into_inner().unwrap()
}

pub(super) fn write_tar_gz(path: &Path, files: &[(&str, &[u8])]) {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&tar_bytes(files)).unwrap();
    fs::write(path, e.finish().unwrap()).unwrap();
}

fn write_tar_bz2(path: &Path, files: &[(&str, &[u8])]) {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(&tar_bytes(files)).unwrap();
    fs::write(path, e.finish().unwrap()).unwrap();
}

fn write_tar_xz(path: &Path, files: &[(&str, &[u8])]) {
    let raw = tar_bytes(files);
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut &raw[..], &mut out).unwrap();
    fs::write(path, out).unwrap();
}

fn write_zip(path: &Path, files: &[(&str, &[u8])]) {
    let mut z = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (i, (name, body)) in files.iter().enumerate() {
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(if i == 0 {
            0o755
        } else {
            0o644
        });
        z.start_file(*name, opts).unwrap();
        z.write_all(body).unwrap();
    }
    z.finish().unwrap();
}

/// Writes an archive of (path, bytes) entries.
type Writer = fn(&Path, &[(&str, &[u8])]);

const FILES: [(&str, &[u8]); 2] = [("bin/run", b"#!/bin/sh\n"), ("dir/inner.txt", b"inside")];

fn assert_unpacked(sandbox: &Path, archive: &str) {
    assert!(sandbox.join(archive).is_file(), "{archive} kept");
    assert_eq!(
        fs::read(sandbox.join("dir/inner.txt")).unwrap(),
        b"inside",
        "{archive}"
    );
    let mode = fs::metadata(sandbox.join("bin/run"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "{archive}: modes kept");
}

#[test]
fn every_archive_kind_is_unpacked_into_the_sandbox() {
    let s = setup();
    let writers: [(&str, Writer); 8] = [
        ("a.tar", |p, f| fs::write(p, tar_bytes(f)).unwrap()),
        ("a.tar.gz", write_tar_gz),
        ("a.tgz", write_tar_gz),
        ("a.tar.bz2", write_tar_bz2),
        ("a.tbz2", write_tar_bz2),
        ("a.tar.xz", write_tar_xz),
        ("a.txz", write_tar_xz),
        ("a.zip", write_zip),
    ];
    for (name, write) in writers {
        write(&s.src.join(name), &FILES);
        let sandbox = another_sandbox(&s, &format!("sandbox-{name}"));
        fetch(&[uri(name)], &sandbox, None, &s.config).unwrap();
        assert_unpacked(&sandbox, name);
        // Nothing staged is left behind.
        let left = fs::read_dir(&sandbox).unwrap().count();
        assert_eq!(left, 3, "{name}: archive, bin/, dir/");
    }
}

#[test]
fn a_single_gz_file_is_decompressed_beside_it() {
    let s = setup();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b"gz body").unwrap();
    fs::write(s.src.join("plain.gz"), e.finish().unwrap()).unwrap();
    fetch(&[uri("plain.gz")], &s.sandbox, None, &s.config).unwrap();
    assert_eq!(fs::read(s.sandbox.join("plain")).unwrap(), b"gz body");
    assert!(s.sandbox.join("plain.gz").is_file());
}

#[test]
fn extract_false_keeps_the_archive_packed() {
    let s = setup();
    write_tar_gz(&s.src.join("bundle.tar.gz"), &FILES);
    let mut keep = uri("bundle.tar.gz");
    keep.extract = Some(false);
    fetch(&[keep], &s.sandbox, None, &s.config).unwrap();
    assert!(s.sandbox.join("bundle.tar.gz").is_file());
    assert!(!s.sandbox.join("dir").exists());
}

#[test]
fn archive_entries_cannot_leave_the_sandbox() {
    let s = setup();
    // A tar entry named "../escaped" (written raw: the builder refuses such names).
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..10].copy_from_slice(b"../escaped");
    h.set_size(1);
    h.set_mode(0o644);
    h.set_cksum();
    let mut raw = h.as_bytes().to_vec();
    raw.extend_from_slice(b"x");
    raw.resize(raw.len() + 511 + 1024, 0);
    raw.truncate(512 * 4);
    fs::write(s.src.join("evil.tar"), raw).unwrap();
    let _ = fetch(&[uri("evil.tar")], &s.sandbox, None, &s.config);
    assert!(!s.sandbox.with_file_name("escaped").exists());

    let mut z = zip::ZipWriter::new(fs::File::create(s.src.join("evil.zip")).unwrap());
    z.start_file("../escaped-zip", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(b"x").unwrap();
    z.finish().unwrap();
    let _ = fetch(&[uri("evil.zip")], &s.sandbox, None, &s.config);
    assert!(!s.sandbox.with_file_name("escaped-zip").exists());
}
