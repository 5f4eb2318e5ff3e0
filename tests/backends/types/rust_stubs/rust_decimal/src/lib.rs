//! Stand-in for rust_decimal (with its `serde` feature).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Decimal {
    lo: u64,
    hi: u32,
    flags: u32,
}

impl serde::Serialize for Decimal {}
impl<'de> serde::Deserialize<'de> for Decimal {}
