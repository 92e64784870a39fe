//! The dedup index of a capture: object id -> location, compactly (pack ids interned),
//! about 70 bytes per object. The capture fills it only from the previous snapshot of the
//! same lineage (same id algorithm and key), so equal ids mean equal content.

use crate::id::ObjectId;
use crate::pack::Location;
use std::collections::HashMap;

#[derive(Clone, Copy)]
struct Loc {
    pack: u32,
    block_len: u32,
    block_offset: u64,
    offset: u32,
    len: u32,
}

/// Object (or chunk) id -> location.
#[derive(Default)]
pub struct Index {
    map: HashMap<ObjectId, Loc>,
    packs: Vec<String>,
    pack_ids: HashMap<String, u32>,
}

impl Index {
    /// Record a location.
    pub fn insert(&mut self, hash: ObjectId, loc: &Location) {
        let pack = match self.pack_ids.get(&loc.pack) {
            Some(i) => *i,
            None => {
                let i = self.packs.len() as u32;
                self.packs.push(loc.pack.clone());
                self.pack_ids.insert(loc.pack.clone(), i);
                i
            }
        };
        self.map.insert(
            hash,
            Loc {
                pack,
                block_len: loc.block_len,
                block_offset: loc.block_offset,
                offset: loc.offset,
                len: loc.len,
            },
        );
    }

    /// Whether the id is known.
    pub fn contains(&self, hash: &ObjectId) -> bool {
        self.map.contains_key(hash)
    }

    /// The location of an id.
    pub fn get(&self, hash: &ObjectId) -> Option<Location> {
        self.map.get(hash).map(|l| Location {
            pack: self.packs[l.pack as usize].clone(),
            block_offset: l.block_offset,
            block_len: l.block_len,
            offset: l.offset,
            len: l.len,
        })
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_packs_and_round_trips() {
        let mut ix = Index::default();
        let loc = |p: &str, o: u32| Location {
            pack: p.into(),
            block_offset: 8,
            block_len: 100,
            offset: o,
            len: 5,
        };
        ix.insert([1; 32].into(), &loc("a", 0));
        ix.insert([2; 32].into(), &loc("a", 5));
        ix.insert([3; 16].into(), &loc("b", 0));
        assert_eq!(ix.packs.len(), 2);
        assert_eq!(ix.get(&[2; 32].into()), Some(loc("a", 5)));
        assert!(ix.contains(&[3; 16].into()) && !ix.contains(&[3; 32].into()));
        assert_eq!(ix.len(), 3);
    }
}
