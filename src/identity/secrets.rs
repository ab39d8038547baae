//! Random secrets (session tokens, API tokens, request ids, first
//! passwords) and the hash under which sessions and tokens are stored.

use base64::Engine;
use sha2::{Digest, Sha256};

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system provides randomness");
    buf
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n * 2);
    for _ in 0..n {
        out.push_str(&format!("{:02x}", random_bytes::<1>()[0]));
    }
    out
}

/// A 256-bit secret, URL-safe.
pub fn random_secret() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Secrets are stored only as their SHA-256: a leaked database does not
/// leak sessions or tokens. (They are random 256-bit values, so a fast hash
/// is enough; passwords get argon2id.)
pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A readable random password for new accounts and resets: 14 characters
/// from an alphabet without look-alikes, always with a digit and a letter.
pub fn random_password() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let bytes = random_bytes::<14>();
    let mut out: String = bytes[..12]
        .iter()
        .map(|b| LETTERS[usize::from(*b) % LETTERS.len()] as char)
        .collect();
    out.push(DIGITS[usize::from(bytes[12]) % DIGITS.len()] as char);
    out.push(DIGITS[usize::from(bytes[13]) % DIGITS.len()] as char);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_look_right() {
        assert_eq!(random_hex(16).len(), 32);
        assert_eq!(random_secret().len(), 43);
        assert_ne!(random_secret(), random_secret());
        let p = random_password();
        assert_eq!(p.len(), 14);
        assert!(weiops_core::accounts::check_password(&p, "admin").is_ok());
        assert_eq!(secret_hash("abc").len(), 64);
    }
}
