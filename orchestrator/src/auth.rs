//! API authentication: bearer tokens, held only as SHA-256 hashes, each with a role.
//!
//! Roles are ordered `viewer < operator < admin`; a route names the least role it needs.
//! A presented token is hashed and compared in constant time against every entry, so
//! neither the token nor a near miss shows up in timing, logs or `Debug` output.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do. Ordered: a higher role may do everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read state.
    Viewer,
    /// Also start, approve and cancel operations.
    Operator,
    /// Also change configuration and membership.
    Admin,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The token's configured name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// The configured tokens, as hashes.
#[derive(Clone, Default)]
pub struct TokenTable {
    entries: Vec<(Principal, [u8; 32])>,
}

impl std::fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.entries.iter().map(|(p, _)| &p.name).collect();
        f.debug_struct("TokenTable").field("names", &names).finish()
    }
}

/// Hex SHA-256 of a token, as written in configs.
pub fn token_sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl TokenTable {
    /// Add a token given in clear (from a token file); only its hash is kept.
    pub fn add_token(&mut self, who: Principal, token: &str) {
        self.entries
            .push((who, Sha256::digest(token.as_bytes()).into()));
    }

    /// Add a token given by its hex SHA-256 (already validated as 64 hex digits).
    pub fn add_hash(&mut self, who: Principal, sha256_hex: &str) {
        let mut h = [0u8; 32];
        if hex::decode_to_slice(sha256_hex.to_ascii_lowercase(), &mut h).is_ok() {
            self.entries.push((who, h));
        }
    }

    /// Number of configured tokens.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal a presented token belongs to, if any. Compares against every
    /// entry in constant time.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (who, hash) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) && found.is_none() {
                found = Some(who.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TokenTable {
        let mut t = TokenTable::default();
        let viewer = Principal {
            name: "ci".into(),
            role: Role::Viewer,
        };
        t.add_token(viewer, "viewer-token");
        let admin = Principal {
            name: "root".into(),
            role: Role::Admin,
        };
        t.add_hash(admin, &token_sha256_hex("admin-token"));
        t
    }

    #[test]
    fn tokens_authenticate_by_clear_text_or_hash() {
        let t = table();
        assert_eq!(t.authenticate("viewer-token").unwrap().role, Role::Viewer);
        assert_eq!(t.authenticate("admin-token").unwrap().name, "root");
        assert!(t.authenticate("admin-token ").is_none());
        assert!(t.authenticate("").is_none());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }

    #[test]
    fn debug_never_shows_hashes() {
        let dbg = format!("{:?}", table());
        assert!(dbg.contains("root") && !dbg.contains(&token_sha256_hex("admin-token")));
    }
}
