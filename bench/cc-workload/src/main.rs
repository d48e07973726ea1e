//! Digests and signs a fixed message with ring, whose primitives are the C and assembly its build script compiles.
use ring::{digest, hmac};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn main() {
    let message = b"kache caches the C that build scripts compile";
    println!("sha256: {}", hex(digest::digest(&digest::SHA256, message).as_ref()));
    println!("sha512: {}", hex(&digest::digest(&digest::SHA512, message).as_ref()[..16]));
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"bench key");
    println!("hmac: {}", hex(hmac::sign(&key, message).as_ref()));
}
