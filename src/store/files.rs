//! Who may read the files the store keeps on disk. The SQLite database holds password
//! hashes and the private signing keys: it, and its `-wal` and `-shm` companions,
//! belong to the server's user alone (mode 0600), whatever the umask.

use std::path::{Path, PathBuf};

use super::StoreError;

/// What to do with an existing file that group or others can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permissions {
    /// Refuse to start (the default).
    Strict,
    /// Accept it (`--allow-insecure-permissions`).
    AllowInsecure,
}

/// Checks an existing database file, or creates it with mode 0600, before SQLite opens
/// it: SQLite then creates `-wal` and `-shm` with the same mode as the database.
pub(super) fn prepare(path: &Path, permissions: Permissions) -> Result<(), StoreError> {
    match std::fs::metadata(path) {
        Ok(_) => check(path, permissions),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_private(path),
        Err(e) => Err(StoreError::Permissions(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Narrows the database's companions to 0600 too, in case an older Sesame (or another
/// tool) made them with a wider mode.
pub(super) fn narrow_companions(path: &Path) -> Result<(), StoreError> {
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let companion = PathBuf::from(name);
        if companion.exists() {
            set_private(&companion)?;
        }
    }
    Ok(())
}

/// Refuses a file that group or others may read, unless allowed.
pub fn check(path: &Path, permissions: Permissions) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| StoreError::Permissions(format!("cannot read {}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 && permissions == Permissions::Strict {
            return Err(StoreError::Permissions(format!(
                "{} is readable by group or others (mode {:o}): run `chmod 600 {}`, or \
                 start with --allow-insecure-permissions",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    Ok(())
}

fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        // Created here, or by another process starting at the same moment.
        Ok(_) => set_private(path),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Permissions(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

fn set_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            StoreError::Permissions(format!("cannot restrict {}: {e}", path.display()))
        })?;
    }
    Ok(())
}
