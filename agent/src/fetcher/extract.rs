//! Unpacking fetched archives into the sandbox with pure-Rust decoders (no `tar`/`unzip`
//! on the host needed). Entries that would land outside the sandbox are refused by the
//! `tar` and `zip` crates' own path checks.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::FetchError;

/// How a tarball is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `.tar`.
    None,
    /// `.tar.gz`, `.tgz`.
    Gzip,
    /// `.tar.bz2`, `.tbz2`.
    Bzip2,
    /// `.tar.xz`, `.txz`.
    Xz,
}

/// The kinds of archive the fetcher unpacks, by file name (Mesos's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// A tarball, possibly compressed.
    Tar(Compression),
    /// `.gz` (a single compressed file): unpacked beside it without the suffix.
    Gzip,
    /// `.zip`.
    Zip,
}

/// The archive kind of a file name, if any.
pub fn archive_kind(name: &str) -> Option<Archive> {
    const TAR: [(&str, Compression); 7] = [
        (".tar", Compression::None),
        (".tar.gz", Compression::Gzip),
        (".tgz", Compression::Gzip),
        (".tar.bz2", Compression::Bzip2),
        (".tbz2", Compression::Bzip2),
        (".tar.xz", Compression::Xz),
        (".txz", Compression::Xz),
    ];
    if let Some((_, c)) = TAR.iter().find(|(s, _)| name.ends_with(s)) {
        Some(Archive::Tar(*c))
    } else if name.ends_with(".gz") {
        Some(Archive::Gzip)
    } else if name.ends_with(".zip") {
        Some(Archive::Zip)
    } else {
        None
    }
}

fn failed(uri: &str, tool: &'static str, e: impl std::fmt::Display) -> FetchError {
    FetchError::Extract {
        uri: uri.to_string(),
        tool,
        message: e.to_string(),
    }
}

/// Unpacks `file` (of kind `archive`) into `sandbox`.
pub fn extract(uri: &str, archive: Archive, file: &Path, sandbox: &Path) -> Result<(), FetchError> {
    let open = || File::open(file).map(BufReader::new);
    match archive {
        Archive::Tar(Compression::None) => {
            untar(uri, open().map_err(|e| failed(uri, "tar", e))?, sandbox)
        }
        Archive::Tar(Compression::Gzip) => {
            let input = open().map_err(|e| failed(uri, "tar", e))?;
            untar(uri, flate2::read::MultiGzDecoder::new(input), sandbox)
        }
        Archive::Tar(Compression::Bzip2) => {
            let input = open().map_err(|e| failed(uri, "tar", e))?;
            untar(uri, bzip2::read::MultiBzDecoder::new(input), sandbox)
        }
        Archive::Tar(Compression::Xz) => {
            // lzma-rs decodes to a writer only: stage the tarball next to the archive.
            let staged = file.with_extension("fetch-untar");
            let result = (|| {
                let mut input = open().map_err(|e| failed(uri, "xz", e))?;
                let mut out = File::create(&staged).map_err(|e| failed(uri, "xz", e))?;
                lzma_rs::xz_decompress(&mut input, &mut out)
                    .map_err(|e| failed(uri, "xz", format!("{e:?}")))?;
                drop(out);
                untar(
                    uri,
                    File::open(&staged).map_err(|e| failed(uri, "tar", e))?,
                    sandbox,
                )
            })();
            let _ = fs::remove_file(&staged);
            result
        }
        Archive::Gzip => {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let target = sandbox.join(name.trim_end_matches(".gz"));
            let input = open().map_err(|e| failed(uri, "gzip", e))?;
            let mut decoder = flate2::read::MultiGzDecoder::new(input);
            let mut out = File::create(&target).map_err(|e| failed(uri, "gzip", e))?;
            io::copy(&mut decoder, &mut out).map_err(|e| failed(uri, "gzip", e))?;
            Ok(())
        }
        Archive::Zip => {
            let input = open().map_err(|e| failed(uri, "zip", e))?;
            let mut zip = zip::ZipArchive::new(input).map_err(|e| failed(uri, "zip", e))?;
            zip.extract(sandbox).map_err(|e| failed(uri, "zip", e))
        }
    }
}

fn untar(uri: &str, input: impl Read, sandbox: &Path) -> Result<(), FetchError> {
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    archive.unpack(sandbox).map_err(|e| failed(uri, "tar", e))
}
