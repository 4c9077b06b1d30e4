//! Files that hold customers' details or a token, readable by their owner only: folders are
//! made 0700 and files 0600 whatever the umask, and a file or folder found wider is reported,
//! so a program can warn (it is not changed behind its owner's back). On platforms without
//! Unix modes these make plain folders and files and report nothing.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Makes `path` and its missing parents; the folders made here are readable by their owner
/// only (an existing folder is left as it is).
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut cursor = Some(path);
    while let Some(folder) =
        cursor.filter(|folder| !folder.as_os_str().is_empty() && !folder.exists())
    {
        missing.push(folder);
        cursor = folder.parent();
    }
    for folder in missing.into_iter().rev() {
        match std::fs::create_dir(folder) {
            Ok(()) => restrict(folder, 0o700)?,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Makes a new file at `path`, readable and writable by its owner only; fails if it exists.
pub fn create_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Sets `path`'s permission bits.
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// `path`'s permission bits when others than its owner may read or enter it, else `None`.
pub fn too_open(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A warning for each of `file` and its folder that others may read, saying how to fix it.
pub fn warnings(file: &Path, holds: &str) -> Vec<String> {
    let folder = file
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty());
    [Some((file, 0o600)), folder.map(|folder| (folder, 0o700))]
        .into_iter()
        .flatten()
        .filter_map(|(path, wanted)| {
            too_open(path).map(|mode| {
                format!(
                    "{} can be read by other users of this machine (mode {mode:o}) and holds {holds}: run `chmod {wanted:o} {}`",
                    path.display(),
                    path.display()
                )
            })
        })
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|meta| meta.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn folders_and_files_are_made_for_their_owner_only_and_wider_ones_are_reported() {
        let root = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let folder = root.path().join("a/b");
        create_dir(&folder).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&folder), 0o700);
        let file = folder.join("store.redb");
        drop(create_file(&file).unwrap_or_else(|err| panic!("{err}")));
        assert_eq!(mode(&file), 0o600);
        assert!(warnings(&file, "customers").is_empty());
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap_or(());
        let said = warnings(&file, "customers");
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("mode 644") && said[0].contains("chmod 600"),
            "{said:?}"
        );
    }
}
