//! `*( SEMI generic-param )` as an owned, ordered list (RFC 3261 §25.1).

use super::HeaderError;
use crate::message::syntax;
use std::fmt;

/// Header parameters in received order. Names compare case-insensitively
/// (RFC 3261 §7.3.1); values are kept as written (a quoted-string keeps its quotes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(Vec<(String, Option<String>)>);

impl Params {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `;a=b;c` (LWS around `;` and `=` tolerated). `header` names the header in
    /// the error.
    pub fn parse(s: &str, header: &'static str) -> Result<Self, HeaderError> {
        syntax::params(s)
            .map(|p| {
                p.map(|(n, v)| (n.to_owned(), v.map(str::to_owned)))
                    .map_err(|()| HeaderError::invalid(header, "malformed parameter"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// `Some(None)` for a flag parameter, `Some(Some(v))` for `name=v`.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// Replaces the parameter `name` (or appends it).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// Removes every parameter called `name` (case-insensitive).
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Removes and returns `name`'s value, for typed headers that lift a parameter
    /// into a field.
    pub(crate) fn take(&mut self, name: &str) -> Option<Option<String>> {
        let i = self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(self.0.remove(i).1)
    }

    /// The parameters in order, as (name, value); a flag parameter has no value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_get_set_print() {
        let mut p = Params::parse(" ; Lr ;q = 0.5;x=\"a b\"", "Test").unwrap();
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.get("Q"), Some(Some("0.5")));
        assert_eq!(p.get("missing"), None);
        p.set("q", Some("1"));
        p.set("new", None);
        p.remove("lr");
        assert_eq!(p.to_string(), ";q=1;x=\"a b\";new");
        assert!(Params::parse(";;", "Test").is_err());
    }
}
