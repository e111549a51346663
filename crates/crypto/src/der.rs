//! The little DER this crate writes itself: an RSA public key (PKCS#1 `RSAPublicKey`) from the
//! modulus and exponent of a JWK, so that the key can be parsed once for verification.

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`, with `n` and `e`
/// as big-endian unsigned bytes.
pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = integer(n);
    body.extend(integer(e));
    tlv(0x30, &body)
}

/// A non-negative INTEGER: leading zeros dropped, one zero put back if the high bit is set.
fn integer(unsigned: &[u8]) -> Vec<u8> {
    let start = unsigned
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(unsigned.len());
    let digits = &unsigned[start..];
    let mut v = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(digits);
    tlv(0x02, &v)
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::rsa_public_key;

    #[test]
    fn small_key_encodes_as_pkcs1() {
        // n = 0x80 01 (high bit set: a zero is prepended), e = 65537.
        assert_eq!(
            rsa_public_key(&[0x00, 0x80, 0x01], &[0x01, 0x00, 0x01]),
            vec![
                0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
    }

    #[test]
    fn long_lengths_use_the_long_form() {
        let n = vec![0x7f; 256];
        let der = rsa_public_key(&n, &[3]);
        assert_eq!(&der[..4], &[0x30, 0x82, 0x01, 0x07]);
        assert_eq!(&der[4..8], &[0x02, 0x82, 0x01, 0x00]);
    }
}
