//! RFC 8785 JSON Canonicalization Scheme: object members sorted by the UTF-16 code units of
//! their names, no whitespace, numbers in ECMAScript `Number.prototype.toString` form, strings
//! with the minimal escaping of ECMAScript `JSON.stringify`.

use std::fmt::Write;

use serde_json::Value;

/// The canonical form of `value`.
pub fn jcs(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript `Number::toString(x)` (ECMA-262 §6.1.6.1.20), from Rust's shortest round-trip
/// digits. JSON has no NaN or infinity; should one arrive, it is written as `null`.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // `{:e}` gives the shortest digits that round-trip: `d[.ddd]e<exp>`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp = exp.parse::<i64>().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = tie_to_even(x.abs(), digits, exp);
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    // n: the decimal point's position relative to the digits.
    let n = exp + 1;
    let body = if k <= n && n <= 21 {
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(n - k).unwrap_or(0))
        )
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0));
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-n).unwrap_or(0)))
    } else {
        let e = n - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!("{first}{frac}e{e_sign}{}", e.abs())
    };
    format!("{sign}{body}")
}

/// ECMAScript picks, among the shortest digit strings that round-trip, the one closest to `x`
/// and, on an exact tie, the even one; Rust's shortest form may take the odd one of a tie
/// (`1424953923781206.25` → `…206.3`). Checked only when the neighbour also round-trips.
fn tie_to_even(x: f64, digits: String, exp: i64) -> String {
    let Ok(c) = digits.parse::<u64>() else {
        return digits;
    };
    if c % 2 == 0 {
        return digits;
    }
    let k = i64::try_from(digits.len()).unwrap_or(0);
    for alt in [c - 1, c + 1] {
        let alt_digits = alt.to_string();
        if alt_digits.len() != digits.len() {
            continue;
        }
        let round_trips = format!("{alt_digits}e{}", exp - k + 1).parse::<f64>() == Ok(x);
        // The exact decimal expansion of `x` (a double has at most 767 significant digits).
        let exact = format!("{x:.770e}");
        let (exact_mantissa, exact_exp) = exact.split_once('e').unwrap_or((&exact, "0"));
        let exact_digits: String = exact_mantissa
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let midpoint = format!("{}5", c.min(alt));
        if round_trips
            && exact_exp.parse::<i64>() == Ok(exp)
            && exact_digits.trim_end_matches('0') == midpoint
        {
            return alt_digits;
        }
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8785 §3.2.2.
    #[test]
    fn the_rfc_example_canonicalises() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let mut value: Value = serde_json::from_str(input).expect("json");
        // serde_json's default float parser is not correctly rounded (one ulp off here); the
        // canonicaliser is about output, so the first number is set from Rust's parser.
        value["numbers"][0] = serde_json::json!("333333333.33333329".parse::<f64>().expect("f64"));
        assert_eq!(
            jcs(&value),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.3: sorting by UTF-16 code units (the emoji's surrogates sort before U+FB33).
    #[test]
    fn members_sort_by_utf16_code_units() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let value: Value = serde_json::from_str(input).expect("json");
        assert_eq!(
            jcs(&value),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    /// RFC 8785 Appendix B.
    #[test]
    fn numbers_follow_ecmascript() {
        let cases: [(u64, &str); 24] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, want) in cases {
            assert_eq!(number(f64::from_bits(bits)), want, "{bits:#018x}");
        }
        assert_eq!(jcs(&serde_json::json!([1, -7, 4.5, 100])), "[1,-7,4.5,100]");
    }
}
