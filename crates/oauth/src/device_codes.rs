//! The pure pieces of the device authorization grant (RFC 8628): user codes (8 characters from
//! a consonant alphabet, shown `XXXX-XXXX`, typed in any case with or without dashes and
//! spaces), the grant's settings (code lifetime, polling interval), and what a poll answers
//! given the stored authorization and the time (`slow_down` when the device polls sooner than
//! its interval, which then grows by [`SLOW_DOWN_STEP_SECONDS`]).

use latchkey_domain::Timestamp;
use latchkey_domain::model::device::{DeviceAuthorization, DeviceStatus};

/// The user code alphabet (RFC 8628 §6.1): no vowels (no words), no look-alike digits.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code (20^8 ≈ 2^34.6 codes).
pub const USER_CODE_LEN: usize = 8;
/// Seconds added to the interval at each `slow_down` (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_SECONDS: i64 = 5;

/// How long device codes live and how often devices may poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSettings {
    pub lifetime_seconds: i64,
    pub interval_seconds: i64,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            lifetime_seconds: 600,
            interval_seconds: 5,
        }
    }
}

/// A user code in its normalized form: exactly [`USER_CODE_LEN`] alphabet characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl UserCode {
    /// A new random user code (uniform over the alphabet by rejection sampling).
    pub fn generate() -> Result<Self, latchkey_crypto::CryptoError> {
        let mut out = String::with_capacity(USER_CODE_LEN);
        let mut buf = [0u8; 32];
        while out.len() < USER_CODE_LEN {
            latchkey_crypto::random::fill(&mut buf)?;
            // 240 = 12 * 20: bytes at or above it would favour the first letters.
            for b in buf.iter().filter(|b| **b < 240) {
                if out.len() == USER_CODE_LEN {
                    break;
                }
                out.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
            }
        }
        Ok(Self(out))
    }

    /// Reads what a person typed: case-insensitive, dashes and white space ignored; None unless
    /// the rest is exactly a user code.
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() > 64 {
            return None;
        }
        let code: String = input
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let valid =
            code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        valid.then_some(Self(code))
    }

    /// The normalized form (what is hashed and stored).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form shown to people: `XXXX-XXXX`.
    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(USER_CODE_LEN / 2);
        format!("{a}-{b}")
    }
}

/// What a poll answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Still waiting for the person (`authorization_pending`).
    Pending,
    /// Polled too soon: `slow_down`, and the interval becomes this many seconds.
    SlowDown(i64),
    /// Past its lifetime (`expired_token`).
    Expired,
    /// The person denied it (`access_denied`).
    Denied,
    /// Approved: redeem it now.
    Approved,
    /// Already redeemed (`invalid_grant`).
    Consumed,
}

/// The answer to a poll at `now` of `record` as it was before this poll.
pub fn poll_verdict(record: &DeviceAuthorization, now: Timestamp) -> Poll {
    match record.status {
        DeviceStatus::Consumed => return Poll::Consumed,
        _ if now.millis() >= record.expires_at.millis() => return Poll::Expired,
        DeviceStatus::Denied => return Poll::Denied,
        DeviceStatus::Approved => return Poll::Approved,
        DeviceStatus::Pending => {}
    }
    let too_soon = record
        .last_poll_at
        .is_some_and(|last| now.millis() - last.millis() < record.interval_seconds * 1000);
    if too_soon {
        Poll::SlowDown(record.interval_seconds + SLOW_DOWN_STEP_SECONDS)
    } else {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_alphabet_characters_shown_in_two_groups() {
        for _ in 0..200 {
            let c = UserCode::generate().unwrap();
            assert_eq!(c.as_str().len(), USER_CODE_LEN);
            assert!(c.as_str().bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
            let shown = c.display();
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(UserCode::parse(&shown), Some(c));
        }
        assert_ne!(UserCode::generate().unwrap(), UserCode::generate().unwrap());
    }

    #[test]
    fn user_code_input_ignores_case_dashes_and_spaces() {
        let want = Some(UserCode("BCDFGHJK".into()));
        for input in [
            "BCDF-GHJK",
            "bcdf-ghjk",
            "bcdfghjk",
            " BcDf GhJk ",
            "B-C-D-F-G-H-J-K",
        ] {
            assert_eq!(UserCode::parse(input), want, "{input}");
        }
    }

    #[test]
    fn user_code_input_outside_the_alphabet_or_length_is_refused() {
        for input in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ1",
            "BCDF_GHJK",
            "ßCDF-GHJK",
        ] {
            assert_eq!(UserCode::parse(input), None, "{input}");
        }
        assert_eq!(UserCode::parse(&"B".repeat(100)), None);
    }

    fn record(status: DeviceStatus, last_poll: Option<i64>, interval: i64) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code_hash: "d".into(),
            user_code_hash: "u".into(),
            client_id: "c".into(),
            scope: None,
            resources: Vec::new(),
            status,
            user_id: None,
            session_id: None,
            expires_at: Timestamp::from_millis(600_000),
            interval_seconds: interval,
            last_poll_at: last_poll.map(Timestamp::from_millis),
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn polls_sooner_than_the_interval_slow_down_and_grow_it() {
        let at = Timestamp::from_millis;
        let first = record(DeviceStatus::Pending, None, 5);
        assert_eq!(poll_verdict(&first, at(1_000)), Poll::Pending);
        let polled = record(DeviceStatus::Pending, Some(1_000), 5);
        assert_eq!(poll_verdict(&polled, at(5_999)), Poll::SlowDown(10));
        assert_eq!(poll_verdict(&polled, at(6_000)), Poll::Pending);
        let slowed = record(DeviceStatus::Pending, Some(1_000), 10);
        assert_eq!(poll_verdict(&slowed, at(6_000)), Poll::SlowDown(15));
        assert_eq!(poll_verdict(&slowed, at(11_000)), Poll::Pending);
    }

    #[test]
    fn decided_expired_and_consumed_answers_come_before_the_interval() {
        let at = Timestamp::from_millis;
        let soon = Some(1_000);
        assert_eq!(
            poll_verdict(&record(DeviceStatus::Approved, soon, 5), at(1_001)),
            Poll::Approved
        );
        assert_eq!(
            poll_verdict(&record(DeviceStatus::Denied, soon, 5), at(1_001)),
            Poll::Denied
        );
        assert_eq!(
            poll_verdict(&record(DeviceStatus::Pending, soon, 5), at(600_000)),
            Poll::Expired
        );
        assert_eq!(
            poll_verdict(&record(DeviceStatus::Approved, soon, 5), at(600_000)),
            Poll::Expired
        );
        assert_eq!(
            poll_verdict(&record(DeviceStatus::Consumed, soon, 5), at(900_000)),
            Poll::Consumed
        );
    }
}
