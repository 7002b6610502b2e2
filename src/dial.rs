//! Dial numbers: the numbers an agent types to consult or transfer a call to
//! an outside party (`docs/call-control.md`, "Dial numbers").
//!
//! The rule is deliberately forgiving about what is typed and strict about
//! what is kept: digits and the four dialling symbols `+ # * :` survive,
//! everything else (letters, spaces, dashes, dots, parentheses) is stripped
//! before the number is used, and the result must hold 3 to 18 digits.
//! So `(201) 553-2447`, `+1 201 553 2447`, the IDD form `01161123456789`
//! and a feature-code prefix such as `*67 2015532447` are all accepted.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// Fewest digits a dial number may hold.
pub const MIN_DIGITS: usize = 3;
/// Most digits a dial number may hold (E.164 allows 15; IDD prefixes and
/// feature codes need the rest).
pub const MAX_DIGITS: usize = 18;

/// A dial number after stripping: only ASCII digits and `+ # * :`,
/// with 3 to 18 digits. Build one with [`DialNumber::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct DialNumber(String);

/// Why a typed number cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialNumberError {
    #[error("dial number has {digits} digit{}; {MIN_DIGITS} to {MAX_DIGITS} are needed", plural(*digits))]
    TooFewDigits { digits: usize },
    #[error("dial number has {digits} digits; {MIN_DIGITS} to {MAX_DIGITS} are needed")]
    TooManyDigits { digits: usize },
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The dialling symbols kept beside digits: `+` (international prefix),
/// `#` and `*` (keypad / feature codes), `:` (a pause, as dialers use it).
fn is_kept(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '+' | '#' | '*' | ':')
}

impl DialNumber {
    /// Strips everything but digits and `+ # * :`, then checks the digit
    /// count (3 to 18).
    pub fn parse(typed: &str) -> Result<DialNumber, DialNumberError> {
        let kept: String = typed.chars().filter(|&c| is_kept(c)).collect();
        let digits = kept.chars().filter(char::is_ascii_digit).count();
        if digits < MIN_DIGITS {
            return Err(DialNumberError::TooFewDigits { digits });
        }
        if digits > MAX_DIGITS {
            return Err(DialNumberError::TooManyDigits { digits });
        }
        Ok(DialNumber(kept))
    }

    /// The stripped number, as it is dialled.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DialNumber {
    type Err = DialNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DialNumber::parse(s)
    }
}

impl TryFrom<String> for DialNumber {
    type Error = DialNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DialNumber::parse(&s)
    }
}

impl Serialize for DialNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(typed: &str) -> String {
        DialNumber::parse(typed)
            .unwrap_or_else(|e| panic!("{typed:?} refused: {e}"))
            .to_string()
    }

    #[test]
    fn us_number_with_plus_is_kept_as_typed() {
        assert_eq!(ok("+12015532447"), "+12015532447");
    }

    #[test]
    fn e164_number_is_kept_as_typed() {
        assert_eq!(ok("+11234567890"), "+11234567890");
    }

    #[test]
    fn idd_number_is_kept_as_typed() {
        assert_eq!(ok("01161123456789"), "01161123456789");
    }

    #[test]
    fn punctuation_of_a_us_number_is_stripped() {
        assert_eq!(ok("(201) 553-2447"), "2015532447");
        assert_eq!(ok("+1 201.553.2447"), "+12015532447");
    }

    #[test]
    fn feature_code_prefix_keeps_its_star() {
        assert_eq!(ok("*67 201 553 2447"), "*672015532447");
    }

    #[test]
    fn hash_star_and_colon_are_kept() {
        assert_eq!(ok("123#45*6:7"), "123#45*6:7");
    }

    #[test]
    fn letters_are_stripped_not_translated() {
        // Vanity letters are not mapped to keypad digits: the rule strips them.
        assert_eq!(ok("1-800-FLOWERS 123"), "1800123");
        assert_eq!(ok("ext. 123"), "123");
    }

    #[test]
    fn non_ascii_digits_are_stripped() {
        // Arabic-Indic digits are letters as far as a dialer is concerned.
        assert_eq!(
            DialNumber::parse("١٢٣"),
            Err(DialNumberError::TooFewDigits { digits: 0 })
        );
    }

    #[test]
    fn exactly_three_digits_are_enough() {
        assert_eq!(ok("911"), "911");
        assert_eq!(ok("+*1#2:3"), "+*1#2:3");
    }

    #[test]
    fn two_digits_are_refused_with_a_clear_message() {
        let err = DialNumber::parse("1-2").unwrap_err();
        assert_eq!(err, DialNumberError::TooFewDigits { digits: 2 });
        assert_eq!(
            err.to_string(),
            "dial number has 2 digits; 3 to 18 are needed"
        );
    }

    #[test]
    fn one_digit_message_is_singular() {
        assert_eq!(
            DialNumber::parse("#1").unwrap_err().to_string(),
            "dial number has 1 digit; 3 to 18 are needed"
        );
    }

    #[test]
    fn symbols_do_not_count_as_digits() {
        assert_eq!(
            DialNumber::parse("+#*:12").unwrap_err(),
            DialNumberError::TooFewDigits { digits: 2 }
        );
    }

    #[test]
    fn exactly_eighteen_digits_are_accepted() {
        assert_eq!(ok("+123456789012345678"), "+123456789012345678");
    }

    #[test]
    fn nineteen_digits_are_refused() {
        let err = DialNumber::parse("1234567890123456789").unwrap_err();
        assert_eq!(err, DialNumberError::TooManyDigits { digits: 19 });
        assert_eq!(
            err.to_string(),
            "dial number has 19 digits; 3 to 18 are needed"
        );
    }

    #[test]
    fn empty_and_letters_only_are_refused() {
        assert_eq!(
            DialNumber::parse(""),
            Err(DialNumberError::TooFewDigits { digits: 0 })
        );
        assert_eq!(
            DialNumber::parse("call me"),
            Err(DialNumberError::TooFewDigits { digits: 0 })
        );
    }

    #[test]
    fn serializes_as_the_stripped_string() {
        let n = DialNumber::parse("(201) 553-2447").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"2015532447\"");
        assert_eq!(n.as_str(), "2015532447");
    }

    #[test]
    fn deserializing_applies_the_same_rule() {
        let n: DialNumber = serde_json::from_str("\"+1 (201) 553-2447\"").unwrap();
        assert_eq!(n.as_str(), "+12015532447");
        assert!(serde_json::from_str::<DialNumber>("\"12\"").is_err());
    }
}
