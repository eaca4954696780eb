//! Okta-style object ids: a three-character type prefix and 17 base62 characters,
//! 20 characters in all (`00u…` users, `00g…` groups, `0oa…` apps, `0ua…` app assignments).

use rand::Rng;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Id prefixes by object kind.
pub mod prefix {
    /// Users.
    pub const USER: &str = "00u";
    /// Groups.
    pub const GROUP: &str = "00g";
    /// Apps (and OAuth clients).
    pub const APP: &str = "0oa";
    /// App user assignments.
    pub const APP_USER: &str = "0ua";
    /// User types.
    pub const USER_TYPE: &str = "oty";
}

/// A fresh id with `prefix` drawn from `rng`.
pub fn new_id(prefix: &str, rng: &mut impl Rng) -> String {
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    for _ in 0..(20 - prefix.len()) {
        s.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    s
}

/// A random opaque token of `len` base62 characters (request ids, nonces, cursors' salt).
pub fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ids_have_okta_shape() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let id = new_id(prefix::USER, &mut rng);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
