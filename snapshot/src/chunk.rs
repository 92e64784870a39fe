//! Entry chunks: the per-object entries of a snapshot (type, namespace, name, object id,
//! location), grouped into content-addressed blobs stored in packs like the objects.
//!
//! Three encodings exist ([`encode`] writes the newest, [`decode`] reads all three):
//!
//! - **v1** (manifest format 1): JSON lines, one [`ChunkLine`] per entry. Each line
//!   repeats the type, the namespace and the 64-hex pack id, so the metadata cost about
//!   50 bytes per object once compressed, as much as the objects themselves.
//! - **v2** (manifest format 2): `"LBEC2\n"` then one JSON document with the entries in
//!   columns (`Columns`): a table of types, of packs and of blocks; the namespaces
//!   run-length encoded; the object ids concatenated (32-byte ids, 64 hex each); per
//!   entry a block index, the length, and the offset only where it does not follow the
//!   previous object in the same block. Similar values sit next to each other, so zstd
//!   stores little more than the ids themselves and the names.
//! - **v3** (manifest format 3): `"LBEC3\n"` and the same columns, with 16-byte ids
//!   (`hmac-sha256-128`, 32 hex each): half the incompressible bytes per entry.
//!
//! Every encoding is deterministic, so an unchanged list of entries yields the same
//! chunk (and the same chunk id): a second snapshot of an unchanged cluster re-uses its
//! chunks instead of uploading them.

use crate::manifest::{ChunkLine, Entry};
use crate::pack::Location;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Magic prefix of a v2 chunk (ids of 64 hex characters).
const MAGIC_V2: &[u8] = b"LBEC2\n";
/// Magic prefix of a v3 chunk (ids of 32 hex characters).
const MAGIC_V3: &[u8] = b"LBEC3\n";

/// A v2 or v3 chunk: the entries in columns. Field names are short on purpose (they are
/// stored once per chunk, but every byte of a small chunk counts).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Columns {
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
    /// Object ids, hex, concatenated (64 characters each in v2, 32 in v3).
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

/// Serialise entries as a v3 chunk (their ids are `hmac-sha256-128`, 32 hex characters).
pub fn encode(lines: &[ChunkLine]) -> Vec<u8> {
    encode_columns(lines, MAGIC_V3, 32)
}

/// Serialise entries as a v2 chunk (64-hex ids): what manifest format 2 stored. This
/// build never writes it; it exists so that format-2 snapshots can be made to test the
/// reader.
pub fn encode_v2(lines: &[ChunkLine]) -> Vec<u8> {
    encode_columns(lines, MAGIC_V2, 64)
}

fn encode_columns(lines: &[ChunkLine], magic: &[u8], id_hex: usize) -> Vec<u8> {
    let mut c = Columns {
        n: lines.len() as u32,
        ..Columns::default()
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
        // Ids are made by the capture (`ObjectId::to_hex`) of the chunk's version.
        debug_assert_eq!(
            e.hash.len(),
            id_hex,
            "object ids are {id_hex} hex characters"
        );
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
    let mut out = magic.to_vec();
    serde_json::to_writer(&mut out, &c).expect("chunk serialises");
    out
}

/// Parse a chunk of any version.
pub fn decode(bytes: &[u8]) -> Result<Vec<ChunkLine>, String> {
    if let Some(json) = bytes.strip_prefix(MAGIC_V3) {
        decode_columns(json, 32, "v3")
    } else if let Some(json) = bytes.strip_prefix(MAGIC_V2) {
        decode_columns(json, 64, "v2")
    } else {
        decode_v1(bytes)
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

/// Decode columns whose ids are `id_hex` hex characters each; errors say `chunk (<version>)`.
fn decode_columns(json: &[u8], id_hex: usize, version: &str) -> Result<Vec<ChunkLine>, String> {
    let c: Columns = serde_json::from_slice(json).map_err(|e| format!("chunk ({version}): {e}"))?;
    let n = c.n as usize;
    // Column lengths first: they bound `n` by what was actually parsed.
    for (what, len) in [
        ("names", c.names.len()),
        ("block indexes", c.b.len()),
        ("offsets", c.o.len()),
        ("lengths", c.len.len()),
    ] {
        if len != n {
            return Err(format!("chunk ({version}): {len} {what} for {n} entries"));
        }
    }
    let types = expand(&c.t, n, "type column")?;
    let namespaces = expand(&c.ns, n, "namespace column")?;
    if c.ids.len() != n * id_hex || !c.ids.is_ascii() {
        return Err(format!(
            "chunk ({version}): {} id characters for {n} entries ({id_hex} each)",
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
                hash: c.ids[i * id_hex..(i + 1) * id_hex].to_string(),
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
                // Real ids are HMACs truncated to 16 bytes: as random as this.
                hash: hex::encode(
                    &<sha2::Sha256 as sha2::Digest>::digest(format!("{name}{offset}{block}"))[..16],
                ),
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

    /// The same entries with (as random) 64-hex ids, as format 2 had them.
    fn wide(lines: &[ChunkLine]) -> Vec<ChunkLine> {
        let mut lines = lines.to_vec();
        for l in &mut lines {
            l.e.hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&l.e.hash));
        }
        lines
    }

    #[test]
    fn v3_and_v2_roundtrip_mixed_namespaces_packs_blocks_and_gaps() {
        let mut lines = vec![
            line(Some("a"), "x", "p1", 8, 0),
            line(Some("a"), "y", "p1", 8, 10),
            line(Some("b"), "z", "p1", 8, 40), // gap: offset stored
            line(None, "w", "p2", 8, 0),       // other pack
            line(None, "v", "p1", 600, 0),     // other block
        ];
        lines[4].e.kind = "Other".into(); // a second type
        let bytes = encode(&lines);
        assert!(bytes.starts_with(MAGIC_V3));
        assert_eq!(decode(&bytes).unwrap(), lines);
        assert_eq!(encode(&lines), bytes, "deterministic");
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
        let v2 = encode_v2(&wide(&lines));
        assert!(v2.starts_with(MAGIC_V2));
        assert_eq!(decode(&v2).unwrap(), wide(&lines), "v2 still reads");
    }

    #[test]
    fn v3_is_much_smaller_than_v2_and_v1_once_compressed() {
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
        let v1 = encode_v1(&wide(&lines));
        assert_eq!(decode(&v1).unwrap(), wide(&lines), "v1 still reads");
        let z = |b: &[u8]| zstd::bulk::compress(b, 3).unwrap().len();
        let (v3, v2, v1) = (z(&encode(&lines)), z(&encode_v2(&wide(&lines))), z(&v1));
        assert!(v2 * 100 < v1 * 85, "v2 {v2} B vs v1 {v1} B");
        // The ids are incompressible: v3 saves about their missing 16 bytes per entry.
        assert!(v3 + 128 * 14 < v2, "v3 {v3} B vs v2 {v2} B");
    }

    #[test]
    fn v3_rejects_inconsistent_columns() {
        let good = encode(&[line(Some("a"), "x", "p", 8, 0)]);
        let json = std::str::from_utf8(&good[MAGIC_V3.len()..]).unwrap();
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
            let bad = [MAGIC_V3, json.replace(from, to).as_bytes()].concat();
            let err = decode(&bad).unwrap_err();
            assert!(err.contains(expect), "{from} -> {to}: {err}");
        }
        let mut short = good.clone();
        short.truncate(good.len() - 3);
        assert!(decode(&short).unwrap_err().contains("chunk (v3)"));
        // A format-2 (64-hex) id in a v3 chunk, and the reverse, are refused.
        let wide_ids = [
            MAGIC_V3,
            &encode_v2(&wide(&[line(None, "x", "p", 8, 0)]))[6..],
        ]
        .concat();
        let err = decode(&wide_ids).unwrap_err();
        assert!(
            err.contains("64 id characters for 1 entries (32 each)"),
            "{err}"
        );
        let narrow_ids = [MAGIC_V2, &good[6..]].concat();
        let err = decode(&narrow_ids).unwrap_err();
        assert!(
            err.contains("chunk (v2): 32 id characters for 1 entries (64 each)"),
            "{err}"
        );
    }
}
