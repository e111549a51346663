//! Times N RS256 (RSA-2048, PKCS#1 v1.5, SHA-256) and ES256 (P-256, SHA-256, fixed) signatures over
//! a JWS-sized signing input with aws-lc-rs, on one thread, exactly as Latchkey's
//! `latchkey_crypto::jws::SigningKey::raw_sign` does. Prints one line per algorithm:
//! `ALG <µs of CPU per signature> <signatures> <CPU seconds> <wall seconds>`.
//!
//! The divisor is the thread's own on-CPU time (`/proc/thread-self/schedstat`, ns), not wall
//! time, so other work on a shared machine does not inflate the figure (`openssl speed` likewise
//! divides by CPU time unless given `-elapsed`). Without schedstat it falls back to wall time.
//!
//! `ES256-1000-keys` signs round-robin with 1,000 copies of the key, each loaded among 50 KiB of
//! other data, as a server with 1,000 zones does (issue 13).
//!
//! `ES256-verify` is the verification of an ES256 signature with the public key parsed once, as
//! the token exchange verifies a subject token.
//!
//! Usage: sign-cost [cpu-seconds-per-alg]   (default 3)

use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};

/// Roughly the size of a Latchkey client_credentials signing input (header.payload, base64url).
const MESSAGE_LEN: usize = 420;

/// Nanoseconds this thread has spent on a CPU.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn time<F: FnMut()>(budget: Duration, mut f: F) -> (f64, u64, f64, f64) {
    // Warm-up.
    for _ in 0..50 {
        f();
    }
    let wall = Instant::now();
    let cpu0 = thread_cpu_ns();
    let cpu_secs = || match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
        _ => wall.elapsed().as_secs_f64(),
    };
    let mut n: u64 = 0;
    // Bounded in CPU time and, on a very busy machine, in wall time (4x the budget).
    while cpu_secs() < budget.as_secs_f64() && wall.elapsed() < budget * 4 {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    let secs = cpu_secs();
    (secs * 1e6 / n as f64, n, secs, wall.elapsed().as_secs_f64())
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let budget = Duration::from_secs_f64(secs);
    let rng = SystemRandom::new();
    let message: Vec<u8> = (0..MESSAGE_LEN)
        .map(|i| b"abcdefghijklmnop"[i % 16])
        .collect();

    // Round-trip through PKCS#8 as the server does (keys are loaded from the store).
    let rsa_der = RsaKeyPair::generate(KeySize::Rsa2048)
        .and_then(|k| k.as_der())
        .map(|d| d.as_ref().to_vec())
        .expect("RSA key generation");
    let rsa = RsaKeyPair::from_pkcs8(&rsa_der).expect("RSA key parse");
    let mut sig = vec![0u8; rsa.public_modulus_len()];
    let (us, n, s, w) = time(budget, || {
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, &message, &mut sig)
            .expect("RS256 sign");
        std::hint::black_box(&sig);
    });
    println!("RS256 {us:.2} {n} {s:.3} {w:.3}");

    let ec_der = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .and_then(|k| k.to_pkcs8v1())
        .map(|d| d.as_ref().to_vec())
        .expect("P-256 key generation");
    let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &ec_der)
        .expect("P-256 key parse");
    let (us, n, s, w) = time(budget, || {
        let sig = ec.sign(&rng, &message).expect("ES256 sign");
        std::hint::black_box(sig.as_ref());
    });
    println!("ES256 {us:.2} {n} {s:.3} {w:.3}");

    // The same, round-robin over ZONES keys, each loaded among ~50 KiB of other data as a zone's
    // key is in the server (issue 13: does signing with a thousand zones' keys cost more?).
    const ZONES: usize = 1000;
    let mut ballast: Vec<Vec<u8>> = Vec::with_capacity(ZONES);
    let keys: Vec<EcdsaKeyPair> = (0..ZONES)
        .map(|i| {
            ballast.push(vec![i as u8; 50 * 1024]);
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &ec_der)
                .expect("P-256 key parse")
        })
        .collect();
    let mut next = 0;
    let (us, n, s, w) = time(budget, || {
        next = (next + 1) % ZONES;
        let sig = keys[next].sign(&rng, &message).expect("ES256 sign");
        std::hint::black_box(sig.as_ref());
    });
    println!("ES256-{ZONES}-keys {us:.2} {n} {s:.3} {w:.3}");
    std::hint::black_box(&ballast);

    // The same two with ring, whose key pair holds the private scalar in the Rust value itself
    // (aws-lc-rs holds EVP_PKEY -> EC_KEY -> scalar and makes an EVP_PKEY_CTX per signature):
    // how much of the 1,000 keys' extra cost is the key's objects (issue 13).
    let ring_rng = ring::rand::SystemRandom::new();
    let ring_alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let ring_key = ring::signature::EcdsaKeyPair::from_pkcs8(ring_alg, &ec_der, &ring_rng)
        .expect("P-256 key parse (ring)");
    let (us, n, s, w) = time(budget, || {
        let sig = ring_key
            .sign(&ring_rng, &message)
            .expect("ES256 sign (ring)");
        std::hint::black_box(sig.as_ref());
    });
    println!("ES256-ring {us:.2} {n} {s:.3} {w:.3}");
    let mut ring_ballast: Vec<Vec<u8>> = Vec::with_capacity(ZONES);
    let ring_keys: Vec<Box<ring::signature::EcdsaKeyPair>> = (0..ZONES)
        .map(|i| {
            ring_ballast.push(vec![i as u8; 50 * 1024]);
            Box::new(
                ring::signature::EcdsaKeyPair::from_pkcs8(ring_alg, &ec_der, &ring_rng)
                    .expect("P-256 key parse (ring)"),
            )
        })
        .collect();
    let (us, n, s, w) = time(budget, || {
        next = (next + 1) % ZONES;
        let sig = ring_keys[next]
            .sign(&ring_rng, &message)
            .expect("ES256 sign (ring)");
        std::hint::black_box(sig.as_ref());
    });
    println!("ES256-ring-{ZONES}-keys {us:.2} {n} {s:.3} {w:.3}");
    std::hint::black_box(&ring_ballast);

    // Verification as the server verifies a subject token: the public key parsed once.
    let ec_sig = ec.sign(&rng, &message).expect("ES256 sign");
    let public = signature::ParsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        ec.public_key().as_ref(),
    )
    .expect("P-256 public key parse");
    let (us, n, s, w) = time(budget, || {
        let ok = public.verify_sig(&message, ec_sig.as_ref()).is_ok();
        std::hint::black_box(ok);
    });
    println!("ES256-verify {us:.2} {n} {s:.3} {w:.3}");
}
