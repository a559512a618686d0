//! [`JoinToken`]: `BSN1.<ca-sha256>.<id>.<secret>`. The hash lets a joining machine check
//! the master's CA before it sends anything; the id names the token (listing, revoking);
//! the secret proves the holder may join. Masters store only the secret's hash.
use std::fmt;
use std::str::FromStr;

use super::{random_bytes, sha256_hex, PkiError, Role};
use crate::secret::{Secret, SYSTEM_NAMESPACE};

/// `type` of the Secrets that record join tokens (in [`SYSTEM_NAMESPACE`]).
pub const TOKEN_SECRET_TYPE: &str = "bosun.dev/join-token";
/// Name prefix of those Secrets: `join-token-<id>`.
pub const TOKEN_SECRET_PREFIX: &str = "join-token-";

const PREFIX: &str = "BSN1";
const ID_LEN: usize = 6;
const SECRET_LEN: usize = 16;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// SHA-256 of the cluster CA certificate (DER), lowercase hex.
    pub ca_hash: String,
    pub id: String,
    pub secret: String,
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret is never printed by accident.
        f.debug_struct("JoinToken")
            .field("ca_hash", &self.ca_hash)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}.{}.{}.{}", self.ca_hash, self.id, self.secret)
    }
}

fn random_text(n: usize) -> String {
    random_bytes(n)
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn is_text(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| ALPHABET.contains(&b))
}

impl JoinToken {
    /// A new token for the cluster whose CA has `ca_hash`.
    pub fn generate(ca_hash: &str) -> JoinToken {
        JoinToken {
            ca_hash: ca_hash.to_string(),
            id: random_text(ID_LEN),
            secret: random_text(SECRET_LEN),
        }
    }

    /// What masters keep instead of the secret.
    pub fn secret_hash(&self) -> String {
        sha256_hex(self.secret.as_bytes())
    }
}

impl FromStr for JoinToken {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, PkiError> {
        let bad = |m: &str| PkiError::new("join token", m);
        let parts: Vec<&str> = s.trim().split('.').collect();
        let [prefix, hash, id, secret] = parts[..] else {
            return Err(bad(
                "expected BSN1.<ca-sha256>.<id>.<secret>, as `bosun token create` prints it",
            ));
        };
        if prefix != PREFIX {
            return Err(bad(&format!(
                "unknown format {prefix:?}, expected {PREFIX}"
            )));
        }
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the CA hash is not 64 hex digits"));
        }
        if !is_text(id, ID_LEN) || !is_text(secret, SECRET_LEN) {
            return Err(bad("malformed id or secret"));
        }
        Ok(JoinToken {
            ca_hash: hash.to_ascii_lowercase(),
            id: id.to_string(),
            secret: secret.to_string(),
        })
    }
}

/// What the cluster keeps of a join token: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub role: Role,
    pub secret_sha256: String,
    /// RFC 3339; `None`: never expires.
    pub expiration: Option<String>,
    pub description: String,
}

impl TokenRecord {
    /// The record of `token`, for `role`.
    pub fn of(
        token: &JoinToken,
        role: Role,
        expiration: Option<String>,
        description: &str,
    ) -> Self {
        TokenRecord {
            id: token.id.clone(),
            role,
            secret_sha256: token.secret_hash(),
            expiration,
            description: description.to_string(),
        }
    }

    /// The Secret that stores it.
    pub fn to_secret(&self) -> Secret {
        let mut s = Secret::new(
            SYSTEM_NAMESPACE,
            &format!("{TOKEN_SECRET_PREFIX}{}", self.id),
            TOKEN_SECRET_TYPE,
        );
        s.set_text("token-id", &self.id);
        s.set_text("role", self.role.as_str());
        s.set_text("secret-sha256", &self.secret_sha256);
        if let Some(e) = &self.expiration {
            s.set_text("expiration", e);
        }
        if !self.description.is_empty() {
            s.set_text("description", &self.description);
        }
        s
    }

    /// The record a Secret holds (`None` for other secrets).
    pub fn from_secret(s: &Secret) -> Option<TokenRecord> {
        if s.type_ != TOKEN_SECRET_TYPE || s.metadata.namespace != SYSTEM_NAMESPACE {
            return None;
        }
        Some(TokenRecord {
            id: s.text("token-id")?.to_string(),
            role: Role::parse(s.text("role")?)?,
            secret_sha256: s.text("secret-sha256")?.to_string(),
            expiration: s.text("expiration").map(str::to_string),
            description: s.text("description").unwrap_or_default().to_string(),
        })
    }

    /// Whether `token` is this one's (same id, same secret).
    pub fn admits(&self, token: &JoinToken) -> bool {
        self.id == token.id && self.secret_sha256 == token.secret_hash()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_print_and_parse_back() {
        let t = JoinToken::generate(&"ab".repeat(32));
        let text = t.to_string();
        assert!(text.starts_with("BSN1.abab"));
        assert_eq!(text.parse::<JoinToken>().unwrap(), t);
        assert!(!format!("{t:?}").contains(&t.secret));
        assert_ne!(JoinToken::generate(&t.ca_hash).secret, t.secret);
        for bad in [
            "",
            "BSN1.abc.def",
            "BSN2.abababababababababababababababababababababababababababababababab.abcdef.0123456789abcdef",
            "BSN1.zz.abcdef.0123456789abcdef",
            "BSN1.abababababababababababababababababababababababababababababababab.abc.0123456789abcdef",
        ] {
            let e = bad.parse::<JoinToken>().unwrap_err();
            assert_eq!(e.what, "join token", "{bad}");
        }
    }

    #[test]
    fn records_keep_only_the_hash_and_round_trip_through_a_secret() {
        let t = JoinToken::generate(&"cd".repeat(32));
        let r = TokenRecord::of(&t, Role::Node, Some("2030-01-01T00:00:00Z".into()), "lab");
        let s = r.to_secret();
        assert!(!serde_json::to_string(&s).unwrap().contains(&t.secret));
        let back = TokenRecord::from_secret(&s).unwrap();
        assert_eq!(back, r);
        assert!(back.admits(&t));
        let other = JoinToken::generate(&t.ca_hash);
        assert!(!back.admits(&JoinToken {
            id: t.id.clone(),
            ..other
        }));
    }
}
