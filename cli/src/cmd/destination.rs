//! Files a command writes (`report --out`, `export --out`): checked before any work, and
//! replaced whole, so a reader sees the old file or the new one, never half of one.

use std::fs::File;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow};

/// Refuses a destination that cannot be written, before any work is done; `example` is a
/// file name to suggest when `path` is a folder.
pub fn check_destination(path: &Path, example: &str) -> Result<()> {
    if path.is_dir() {
        return Err(anyhow!(
            "out: {} is a folder: give a file name, such as {}",
            path.display(),
            path.join(example).display()
        ));
    }
    // Only a regular file is replaced: a device (/dev/full), a pipe or a socket is not a file
    // to write a report or an export into, and renaming over it would replace it.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(anyhow!(
            "out: {} is not a regular file (a device, a pipe or a socket): give a file name, or leave --out out to print to the screen",
            path.display()
        ));
    }
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(anyhow!(
            "out: the folder {} does not exist: create it first or write somewhere else",
            folder.display()
        ));
    }
    Ok(())
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Lets `write` fill a temporary file beside `path`, then renames it over `path`; if `write`
/// fails, `path` is left as it was and the temporary file is removed.
pub fn write_whole(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let mut file = tempfile::NamedTempFile::new_in(folder_of(path))
        .with_context(|| format!("cannot write in {}", folder_of(path).display()))?;
    write(file.as_file_mut())?;
    file.as_file().sync_all()?;
    file.persist(path)
        .map_err(|err| anyhow!("cannot write {}: {}", path.display(), err.error))?;
    Ok(())
}
