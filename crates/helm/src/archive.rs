//! Unpacking a chart archive (`.tgz`) safely: only regular files and
//! directories, every path relative and inside the destination (no `/`,
//! no `..`), no links or devices, and limits on each file, the total and
//! the number of entries (helm's own: 5 MiB per file, 100 MiB in all).

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::error::FetchError;

/// Limits of one unpack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The largest file, in bytes.
    pub(crate) file: u64,
    /// All files together, in bytes.
    pub(crate) total: u64,
    /// The most entries (files and directories).
    pub(crate) entries: usize,
}

/// helm's limits (`MaxDecompressedFileSize`, `MaxDecompressedChartSize`).
pub(crate) const LIMITS: Limits = Limits {
    file: 5 << 20,
    total: 100 << 20,
    entries: 20_000,
};

/// Unpacks the gzipped tar `bytes` (named `archive` in messages) into
/// `dest`, an empty directory.
pub(crate) fn unpack(
    bytes: &[u8],
    dest: &Path,
    archive: &str,
    limits: Limits,
) -> Result<(), FetchError> {
    let fail = |entry: &str, message: String| FetchError::Archive {
        archive: archive.to_string(),
        entry: entry.to_string(),
        message,
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = tar
        .entries()
        .map_err(|e| fail("-", format!("not a gzipped tar archive: {e}")))?;
    let (mut count, mut total) = (0usize, 0u64);
    for entry in entries {
        let mut entry = entry.map_err(|e| fail("-", format!("corrupt archive: {e}")))?;
        let raw = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw).into_owned();
        count += 1;
        if count > limits.entries {
            return Err(fail(&name, format!("more than {} entries", limits.entries)));
        }
        let relative = safe_path(&name).map_err(|m| fail(&name, m))?;
        let target = dest.join(&relative);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            create_dir(&target).map_err(|e| fail(&name, e.to_string()))?;
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            return Err(fail(
                &name,
                format!("{kind:?} entries are not allowed in a chart (only files and directories)"),
            ));
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| fail(&name, e.to_string()))?;
        if size > limits.file {
            return Err(fail(
                &name,
                format!("larger than the maximum file size of {} bytes", limits.file),
            ));
        }
        total += size;
        if total > limits.total {
            return Err(fail(
                &name,
                format!("the archive unpacks to more than {} bytes", limits.total),
            ));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(limits.file + 1)
            .read_to_end(&mut data)
            .map_err(|e| fail(&name, format!("corrupt archive: {e}")))?;
        write_file(&target, &data).map_err(|e| fail(&name, e.to_string()))?;
    }
    if count == 0 {
        return Err(fail("-", "the archive is empty".into()));
    }
    Ok(())
}

/// `name` as a relative path of normal components only.
fn safe_path(name: &str) -> Result<PathBuf, String> {
    let mut path = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("the path leaves the chart (`..`)".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path is not allowed".into());
            }
        }
    }
    if path.as_os_str().is_empty() {
        return Err("an empty path".into());
    }
    Ok(path)
}

fn create_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

/// Writes a new file (never through an existing link: only files and
/// directories are ever created here).
fn write_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzipped tar of `entries` (path, type, data), paths written raw.
    fn archive(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            let name = &mut header.as_gnu_mut().unwrap().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;

    fn unpack_into(bytes: &[u8], limits: Limits) -> (tempfile::TempDir, Result<(), FetchError>) {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let result = unpack(bytes, &dest, "web-1.0.0.tgz", limits);
        (dir, result)
    }

    #[test]
    fn files_and_directories_are_unpacked() {
        let bytes = archive(&[
            ("web/", tar::EntryType::Directory, b""),
            ("web/Chart.yaml", FILE, b"name: web\n"),
            ("./web/templates/cm.yaml", FILE, b"kind: ConfigMap\n"),
        ]);
        let (dir, result) = unpack_into(&bytes, LIMITS);
        result.unwrap();
        let out = dir.path().join("out/web");
        assert_eq!(
            std::fs::read(out.join("Chart.yaml")).unwrap(),
            b"name: web\n"
        );
        assert!(out.join("templates/cm.yaml").is_file());
    }

    #[test]
    fn paths_leaving_the_destination_are_refused() {
        for bad in [
            "web/../../escaped.txt",
            "/etc/escaped.txt",
            "../escaped.txt",
        ] {
            let bytes = archive(&[("web/Chart.yaml", FILE, b"x"), (bad, FILE, b"x")]);
            let (dir, result) = unpack_into(&bytes, LIMITS);
            let error = result.unwrap_err().to_string();
            assert!(
                error.contains(bad) && error.contains("web-1.0.0.tgz"),
                "{error}"
            );
            assert!(!dir.path().join("escaped.txt").exists());
            assert!(!Path::new("/etc/escaped.txt").exists());
        }
    }

    #[test]
    fn links_and_devices_are_refused() {
        for kind in [
            tar::EntryType::Symlink,
            tar::EntryType::Link,
            tar::EntryType::Char,
            tar::EntryType::Block,
            tar::EntryType::Fifo,
        ] {
            let bytes = archive(&[("web/Chart.yaml", FILE, b"x"), ("web/odd", kind, b"")]);
            let (dir, result) = unpack_into(&bytes, LIMITS);
            let error = result.unwrap_err().to_string();
            assert!(
                error.contains("web/odd") && error.contains("not allowed"),
                "{error}"
            );
            assert!(!dir.path().join("out/web/odd").exists(), "{kind:?}");
        }
    }

    #[test]
    fn limits_on_a_file_the_total_and_the_entries() {
        let small = Limits {
            file: 10,
            total: 15,
            entries: 3,
        };
        let big = archive(&[("web/big.bin", FILE, &[0u8; 11])]);
        let error = unpack_into(&big, small).1.unwrap_err().to_string();
        assert!(
            error.contains("web/big.bin") && error.contains("maximum file size"),
            "{error}"
        );
        let total = archive(&[("web/a", FILE, &[0u8; 8]), ("web/b", FILE, &[0u8; 8])]);
        let error = unpack_into(&total, small).1.unwrap_err().to_string();
        assert!(
            error.contains("web/b") && error.contains("more than 15 bytes"),
            "{error}"
        );
        let many = archive(&[
            ("web/a", FILE, b""),
            ("web/b", FILE, b""),
            ("web/c", FILE, b""),
            ("web/d", FILE, b""),
        ]);
        let error = unpack_into(&many, small).1.unwrap_err().to_string();
        assert!(error.contains("more than 3 entries"), "{error}");
    }

    #[test]
    fn a_corrupt_archive_is_named() {
        let mut bytes = archive(&[("web/Chart.yaml", FILE, &[7u8; 4000])]);
        bytes.truncate(bytes.len() / 2);
        let error = unpack_into(&bytes, LIMITS).1.unwrap_err().to_string();
        assert!(
            error.contains("web-1.0.0.tgz") && error.contains("corrupt"),
            "{error}"
        );
        let error = unpack_into(b"not gzip", LIMITS).1.unwrap_err().to_string();
        assert!(error.contains("web-1.0.0.tgz"), "{error}");
    }
}
