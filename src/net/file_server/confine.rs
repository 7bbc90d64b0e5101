//! Confinement: a requested name is looked up only inside the shared folder (see the module
//! documentation of `file_server`), and the folder's listing.

use super::*;

/// Why a name could not be served.
pub(super) enum Lookup {
    Refused(Refusal),
    NotFound,
    /// The process is out of descriptors: the file is there, but cannot be opened now.
    OutOfFiles(io::Error),
}

/// Opens `name` inside `root`, refusing anything that leaves it or is not a regular file.
pub fn open_confined(root: &Path, name: &str) -> Result<(File, PathBuf), Refusal> {
    match lookup(root, name) {
        Ok(found) => Ok(found),
        Err(Lookup::Refused(r)) => Err(r),
        Err(Lookup::NotFound | Lookup::OutOfFiles(_)) => Err(Refusal::NotRegularFile),
    }
}

pub(super) fn lookup(root: &Path, name: &str) -> Result<(File, PathBuf), Lookup> {
    crate::net::sys::check_served_name(name).map_err(Lookup::Refused)?;
    let joined = root.join(name);
    let real = match dunce::canonicalize(&joined) {
        Ok(p) => p,
        Err(_) => return Err(Lookup::NotFound),
    };
    if !real.starts_with(root) {
        return Err(Lookup::Refused(Refusal::OutsideFolder));
    }
    // The check above and this open are two steps: whatever was swapped in between, the
    // open walks `real` beneath the folder without following links.
    let file = crate::net::sys::open_beneath(root, &real).map_err(|e| {
        if crate::net::sys::too_many_open_files(&e) {
            Lookup::OutOfFiles(e)
        } else {
            Lookup::NotFound
        }
    })?;
    let meta = file.metadata().map_err(|_| Lookup::NotFound)?;
    if !meta.is_file() {
        return Err(Lookup::Refused(Refusal::NotRegularFile));
    }
    if crate::net::sys::link_count(&file).is_some_and(|n| n > 1) {
        return Err(Lookup::Refused(Refusal::HardLink));
    }
    Ok((file, real))
}

/// Regular files under `root` (at most [`MAX_LISTED`], four folders deep), '/'-separated.
pub fn list_files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if out.len() >= MAX_LISTED {
                return;
            }
            let path = entry.path();
            let Ok(real) = dunce::canonicalize(&path) else {
                continue;
            };
            if !real.starts_with(root) {
                continue;
            }
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let name: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let name = name.join("/");
            if real.is_file() {
                // Only what a request for it would be given: the name passes the checks
                // (no newline to break the reply's lines) and the file opens beneath the
                // folder with one name.
                let servable = crate::proto::download::check_name(&name).is_ok()
                    && crate::net::sys::open_beneath(root, &real)
                        .is_ok_and(|f| crate::net::sys::link_count(&f).is_none_or(|n| n <= 1));
                if servable {
                    out.push(name);
                }
            } else if real.is_dir() && depth < 4 && entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, 0, &mut out);
    out
}
