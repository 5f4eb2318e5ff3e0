//! Stand-in for serde_json: the dynamic JSON value only.

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl serde::Serialize for Value {}
impl<'de> serde::Deserialize<'de> for Value {}
