//! Secret keys kept in the data folder (development token key, file URL key): created once with
//! random bytes, readable only by the service's user, and the same for every instance that
//! starts on the folder.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::RngCore;

/// Length of a generated key, and the least a configured or stored key may have.
pub const KEY_BYTES: usize = 32;

/// Reads the hex key at `path`, creating it with a random key on first use. The new key is
/// written to a private temporary file and linked into place, which fails when another instance
/// got there first: then that instance's key is read back, so both end with the same key and
/// no one ever reads a half-written file.
pub fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    match load(path) {
        Err(error) if not_found(&error) => {}
        loaded => return loaded,
    }
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let mut key = vec![0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    let draft = write_draft(path, &hex::encode(&key))?;
    let linked = std::fs::hard_link(&draft, path);
    // The draft's only purpose was to be linked; the key lives on under `path`.
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => Ok(key),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => load(path),
        Err(error) => {
            Err(error).with_context(|| format!("cannot create the key file {}", path.display()))
        }
    }
}

/// Decodes a hex key, refusing one shorter than [`KEY_BYTES`]; `source` names it in the error.
pub fn parse(text: &str, source: &str) -> anyhow::Result<Vec<u8>> {
    let key =
        hex::decode(text.trim()).with_context(|| format!("{source} is not a hex-encoded key"))?;
    anyhow::ensure!(
        key.len() >= KEY_BYTES,
        "{source} holds a {}-byte key; at least {KEY_BYTES} bytes are needed",
        key.len()
    );
    Ok(key)
}

/// Reads an existing key file, tightening its permissions if older versions left it readable
/// by others.
fn load(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    make_private(path)?;
    parse(&text, &format!("the key file {}", path.display()))
}

fn not_found(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == ErrorKind::NotFound)
}

/// Writes `text` to a new file beside `path` that only the owner may read, flushed to disk.
fn write_draft(path: &Path, text: &str) -> anyhow::Result<PathBuf> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let draft = path.with_file_name(format!(
        ".{name}.{}-{:016x}.draft",
        std::process::id(),
        rand::rng().next_u64()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&draft).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&draft);
        return Err(error).with_context(|| format!("cannot write {}", draft.display()));
    }
    Ok(draft)
}

#[cfg(unix)]
fn make_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "the key file was readable by others; making it private");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn many_starts_at_once_agree_on_one_private_key() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("nested").join("some.key");
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let starts: Vec<_> = (0..16)
                .map(|_| s.spawn(|| load_or_create(&path).unwrap()))
                .collect();
            starts.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0] && k.len() == KEY_BYTES));
        assert_eq!(load_or_create(&path).unwrap(), keys[0]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "drafts are removed");
    }

    #[test]
    fn short_or_malformed_key_files_are_refused() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("bad.key");
        std::fs::write(&path, "abcd").unwrap();
        let error = load_or_create(&path).unwrap_err().to_string();
        assert!(error.contains("2-byte key"), "{error}");
        std::fs::write(&path, "not hex at all").unwrap();
        let error = load_or_create(&path).unwrap_err().to_string();
        assert!(error.contains("not a hex-encoded key"), "{error}");
        std::fs::write(&path, "").unwrap();
        assert!(load_or_create(&path).is_err(), "an empty file is no key");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_readable_by_others_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("old.key");
        std::fs::write(&path, hex::encode([7u8; KEY_BYTES])).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_or_create(&path).unwrap(), vec![7u8; KEY_BYTES]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
