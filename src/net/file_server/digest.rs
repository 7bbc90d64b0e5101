//! BLAKE3 digests of served files for verified clients, cached by path, size and time.

use super::*;

pub(super) type DigestKey = (PathBuf, u64, Option<SystemTime>);

/// Digests of files already hashed, by (path, size, modified): at most [`DIGESTS_KEPT`],
/// the oldest forgotten first.
#[derive(Default)]
pub struct DigestCache {
    map: HashMap<DigestKey, String>,
    order: VecDeque<DigestKey>,
}

impl DigestCache {
    pub fn get(&self, key: &DigestKey) -> Option<&String> {
        self.map.get(key)
    }

    pub fn insert(&mut self, key: DigestKey, digest: String) {
        if self.map.insert(key.clone(), digest).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > DIGESTS_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

pub(super) type SharedDigests = Arc<Mutex<DigestCache>>;

/// BLAKE3 of a whole file, as lowercase hex.
pub fn file_digest(file: &File) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    let mut reader = file;
    reader.seek(SeekFrom::Start(0))?;
    hasher.update_reader(reader)?;
    Ok(hasher.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_cache_forgets_the_oldest_beyond_its_bound() {
        let mut cache = DigestCache::default();
        let key = |i: u64| (PathBuf::from(format!("f{i}")), i, None);
        for i in 0..(DIGESTS_KEPT as u64 * 3) {
            cache.insert(key(i), format!("{i:064x}"));
            // The same key again does not count twice.
            cache.insert(key(i), format!("{i:064x}"));
        }
        assert_eq!(cache.len(), DIGESTS_KEPT);
        assert_eq!(cache.order.len(), DIGESTS_KEPT);
        assert!(cache.get(&key(0)).is_none(), "the oldest is forgotten");
        let newest = DIGESTS_KEPT as u64 * 3 - 1;
        assert_eq!(cache.get(&key(newest)), Some(&format!("{newest:064x}")));
    }
}
