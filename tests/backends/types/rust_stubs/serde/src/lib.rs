//! Stand-in for serde: the two traits and their derives, implemented for the std types the
//! generated code uses.

pub use serde_derive::{Deserialize, Serialize};

pub trait Serialize {}

pub trait Deserializer<'de>: Sized {
    type Error;
}

pub trait Deserialize<'de>: Sized {
    /// Declared for the generated code's `deserialize_with` function to call; never run.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let _ = deserializer;
        unimplemented!("stand-in serde: compile-time checks only")
    }
}

macro_rules! both {
    ($($t:ty),* $(,)?) => {
        $(
            impl Serialize for $t {}
            impl<'de> Deserialize<'de> for $t {}
        )*
    };
}

both!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, String);

impl<T: Serialize> Serialize for Option<T> {}
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Option<T> {}
impl<T: Serialize> Serialize for Vec<T> {}
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Vec<T> {}
