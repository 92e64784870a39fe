//! Entry chunks: the per-object entries of a snapshot (type, namespace, name, object id,
//! location), grouped into content-addressed blobs stored in packs like the objects.
//!
//! Two encodings exist ([`encode`] writes the newest, [`decode`] reads both):
//!
//! - **v1** (manifest format 1): JSON lines, one [`ChunkLine`] per entry. Each line
//!   repeats the type, the namespace and the 64-hex pack id, so the metadata cost about
//!   50 bytes per object once compressed, as much as the objects themselves.
//! - **v2** (manifest format 2): `"LBEC2\n"` then one JSON document with the entries in
//!   columns ([`ChunkV2`]): a table of types, of packs and of blocks; the namespaces
//!   run-length encoded; the object ids concatenated; per entry a block index, the length,
//!   and the offset only where it does not follow the previous object in the same block.
//!   Similar values sit next to each other, so zstd stores little more than the ids
//!   themselves (32 bytes per object) and the names.
//!
//! Both encodings are deterministic, so an unchanged list of entries yields the same
//! chunk (and the same chunk id): a second snapshot of an unchanged cluster re-uses its
//! chunks instead of uploading them.

use crate::manifest::{ChunkLine, Entry};
use crate::pack::Location;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Magic prefix of a v2 chunk.
const MAGIC_V2: &[u8] = b"LBEC2\n";

/// A v2 chunk: the entries in columns. Field names are short on purpose (they are
/// stored once per chunk, but every byte of a small chunk counts).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct ChunkV2 {
    /// Entries in the chunk.
    n: u32,
    /// Types: `[group, version, kind, resource]`.
    types: Vec<[String; 4]>,
    /// Pack ids.
    packs: Vec<String>,
    /// Blocks: `[pack index, block offset, block length]`.
    blocks: Vec<(u32, u64, u32)>,
    /// Type index per entry, run-length encoded: `[index, count]`.
    t: Vec<(u32, u32)>,
    /// Namespace per entry (`null` for cluster-scoped), run-length encoded.
    ns: Vec<(Option<String>, u32)>,
    /// Name per entry.
    names: Vec<String>,
    /// Object ids, hex, concatenated (64 characters each).
    ids: String,
    /// Block index per entry.
    b: Vec<u32>,
    /// Offset in the decoded block per entry; `null` when the object starts where the
    /// previous entry's object ended in the same block.
    o: Vec<Option<u32>>,
    /// Object length per entry.
    len: Vec<u32>,
}

/// Push `v` onto a run-length encoded column.
fn push_run<T: PartialEq>(runs: &mut Vec<(T, u32)>, v: T) {
    match runs.last_mut() {
        Some((last, count)) if *last == v => *count += 1,
        _ => runs.push((v, 1)),
    }
}

/// Expand a run-length encoded column, checking it has exactly `n` values.
fn expand<T: Clone>(runs: &[(T, u32)], n: usize, what: &str) -> Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(n);
    for (v, count) in runs {
        if out.len() + *count as usize > n {
            return Err(format!("{what}: runs cover more than {n} entries"));
        }
        out.extend(std::iter::repeat_n(v.clone(), *count as usize));
    }
    if out.len() != n {
        return Err(format!("{what}: runs cover {} of {n} entries", out.len()));
    }
    Ok(out)
}

/// Index of `key` in a table, adding it if new.
fn intern<K: std::hash::Hash + Eq + Clone>(
    table: &mut Vec<K>,
    ids: &mut HashMap<K, u32>,
    key: K,
) -> u32 {
    *ids.entry(key.clone()).or_insert_with(|| {
        table.push(key);
        (table.len() - 1) as u32
    })
}

/// Serialise entries as a v2 chunk.
pub fn encode(lines: &[ChunkLine]) -> Vec<u8> {
    let mut c = ChunkV2 {
        n: lines.len() as u32,
        ..ChunkV2::default()
    };
    let (mut type_ids, mut pack_ids, mut block_ids) =
        (HashMap::new(), HashMap::new(), HashMap::new());
    let mut prev: Option<(u32, u32)> = None; // (block index, end offset)
    for ChunkLine { e, l } in lines {
        let ty = [
            e.group.clone(),
            e.version.clone(),
            e.kind.clone(),
            e.resource.clone(),
        ];
        let t = intern(&mut c.types, &mut type_ids, ty);
        push_run(&mut c.t, t);
        push_run(&mut c.ns, e.namespace.clone());
        c.names.push(e.name.clone());
        // Ids are hex SHA-256s made by the capture (`hex::encode` of 32 bytes).
        debug_assert_eq!(e.hash.len(), 64, "object ids are 64 hex characters");
        c.ids.push_str(&e.hash);
        let p = intern(&mut c.packs, &mut pack_ids, l.pack.clone());
        let b = intern(
            &mut c.blocks,
            &mut block_ids,
            (p, l.block_offset, l.block_len),
        );
        c.b.push(b);
        c.o.push((prev != Some((b, l.offset))).then_some(l.offset));
        c.len.push(l.len);
        prev = Some((b, l.offset + l.len));
    }
    let mut out = MAGIC_V2.to_vec();
    serde_json::to_writer(&mut out, &c).expect("chunk serialises");
    out
}

/// Parse a chunk of either version.
pub fn decode(bytes: &[u8]) -> Result<Vec<ChunkLine>, String> {
    match bytes.strip_prefix(MAGIC_V2) {
        Some(json) => decode_v2(json),
        None => decode_v1(bytes),
    }
}

/// Serialise entries as a v1 chunk (JSON lines): what manifest format 1 stored. This
/// build never writes it; it exists so that format-1 snapshots can be made to test the
/// reader.
pub fn encode_v1(lines: &[ChunkLine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len() * 200);
    for l in lines {
        serde_json::to_writer(&mut out, l).expect("chunk lines serialise");
        out.push(b'\n');
    }
    out
}

fn decode_v1(bytes: &[u8]) -> Result<Vec<ChunkLine>, String> {
    crate::manifest::json_lines(bytes, "chunk line")
}

fn decode_v2(json: &[u8]) -> Result<Vec<ChunkLine>, String> {
    let c: ChunkV2 = serde_json::from_slice(json).map_err(|e| format!("chunk (v2): {e}"))?;
    let n = c.n as usize;
    // Column lengths first: they bound `n` by what was actually parsed.
    for (what, len) in [
        ("names", c.names.len()),
        ("block indexes", c.b.len()),
        ("offsets", c.o.len()),
        ("lengths", c.len.len()),
    ] {
        if len != n {
            return Err(format!("chunk (v2): {len} {what} for {n} entries"));
        }
    }
    let types = expand(&c.t, n, "type column")?;
    let namespaces = expand(&c.ns, n, "namespace column")?;
    if c.ids.len() != n * 64 || !c.ids.is_ascii() {
        return Err(format!(
            "chunk (v2): {} id characters for {n} entries (64 each)",
            c.ids.len()
        ));
    }
    let mut out = Vec::with_capacity(n);
    let mut prev: Option<(u32, u32)> = None;
    for i in 0..n {
        let [group, version, kind, resource] = c
            .types
            .get(types[i] as usize)
            .ok_or_else(|| format!("entry {}: type index {} out of range", i + 1, types[i]))?
            .clone();
        let &(p, block_offset, block_len) = c
            .blocks
            .get(c.b[i] as usize)
            .ok_or_else(|| format!("entry {}: block index {} out of range", i + 1, c.b[i]))?;
        let pack = c
            .packs
            .get(p as usize)
            .ok_or_else(|| format!("entry {}: pack index {p} out of range", i + 1))?
            .clone();
        let offset = match (c.o[i], prev) {
            (Some(o), _) => o,
            (None, Some((b, end))) if b == c.b[i] => end,
            (None, _) => {
                return Err(format!(
                    "entry {}: offset omitted but the previous entry is in another block",
                    i + 1
                ));
            }
        };
        let end = offset
            .checked_add(c.len[i])
            .ok_or_else(|| format!("entry {}: offset + length overflows", i + 1))?;
        prev = Some((c.b[i], end));
        out.push(ChunkLine {
            e: Entry {
                group,
                version,
                kind,
                resource,
                namespace: namespaces[i].clone(),
                name: c.names[i].clone(),
                hash: c.ids[i * 64..(i + 1) * 64].to_string(),
            },
            l: Location {
                pack,
                block_offset,
                block_len,
                offset,
                len: c.len[i],
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ns: Option<&str>, name: &str, pack: &str, block: u64, offset: u32) -> ChunkLine {
        ChunkLine {
            e: Entry {
                group: "apps".into(),
                version: "v1".into(),
                kind: "Deployment".into(),
                resource: "deployments".into(),
                namespace: ns.map(str::to_string),
                name: name.into(),
                // Real ids are SHA-256s: as random as this.
                hash: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(format!(
                    "{name}{offset}{block}"
                ))),
            },
            l: Location {
                pack: pack.into(),
                block_offset: block,
                block_len: 500,
                offset,
                len: 10,
            },
        }
    }

    #[test]
    fn v2_roundtrips_mixed_namespaces_packs_blocks_and_gaps() {
        let mut lines = vec![
            line(Some("a"), "x", "p1", 8, 0),
            line(Some("a"), "y", "p1", 8, 10),
            line(Some("b"), "z", "p1", 8, 40), // gap: offset stored
            line(None, "w", "p2", 8, 0),       // other pack
            line(None, "v", "p1", 600, 0),     // other block
        ];
        lines[4].e.kind = "Other".into(); // a second type
        let bytes = encode(&lines);
        assert!(bytes.starts_with(MAGIC_V2));
        assert_eq!(decode(&bytes).unwrap(), lines);
        assert_eq!(encode(&lines), bytes, "deterministic");
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn v2_is_much_smaller_than_v1_once_compressed() {
        // As captured: real pack ids, objects of ~1.7 KB back to back in 1 MiB blocks.
        let pack = hex::encode(<sha2::Sha256 as sha2::Digest>::digest("pack"));
        let mut offset = 0;
        let lines: Vec<ChunkLine> = (0..128u32)
            .map(|i| {
                let mut l = line(
                    Some("team-0001"),
                    &format!("svc-{i}-config"),
                    &pack,
                    8,
                    offset,
                );
                l.l.block_len = 52_133;
                l.l.len = 1_650 + i % 97;
                offset += l.l.len;
                l
            })
            .collect();
        let v1 = encode_v1(&lines);
        assert_eq!(decode(&v1).unwrap(), lines, "v1 still reads");
        let z = |b: &[u8]| zstd::bulk::compress(b, 3).unwrap().len();
        let (small, big) = (z(&encode(&lines)), z(&v1));
        assert!(small * 100 < big * 85, "v2 {small} B vs v1 {big} B");
    }

    #[test]
    fn v2_rejects_inconsistent_columns() {
        let good = encode(&[line(Some("a"), "x", "p", 8, 0)]);
        let json = std::str::from_utf8(&good[MAGIC_V2.len()..]).unwrap();
        for (from, to, expect) in [
            ("\"n\":1", "\"n\":2", "1 names for 2 entries"),
            (
                "\"t\":[[0,1]]",
                "\"t\":[[0,2]]",
                "runs cover more than 1 entries",
            ),
            (
                "\"ns\":[[\"a\",1]]",
                "\"ns\":[]",
                "runs cover 0 of 1 entries",
            ),
            ("\"b\":[0]", "\"b\":[3]", "block index 3 out of range"),
            ("\"o\":[0]", "\"o\":[null]", "offset omitted"),
            ("\"len\":[10]", "\"len\":[]", "0 lengths for 1 entries"),
        ] {
            let bad = [MAGIC_V2, json.replace(from, to).as_bytes()].concat();
            let err = decode(&bad).unwrap_err();
            assert!(err.contains(expect), "{from} -> {to}: {err}");
        }
        let mut short = good.clone();
        short.truncate(good.len() - 3);
        assert!(decode(&short).unwrap_err().contains("chunk (v2)"));
    }
}
