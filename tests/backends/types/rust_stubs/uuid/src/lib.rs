//! Stand-in for uuid (with its `serde` feature).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid([u8; 16]);

impl serde::Serialize for Uuid {}
impl<'de> serde::Deserialize<'de> for Uuid {}
