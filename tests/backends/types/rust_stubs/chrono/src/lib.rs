//! Stand-in for chrono (with its `serde` feature): the date and time types only.

use core::marker::PhantomData;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime<Tz> {
    tz: PhantomData<Tz>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NaiveTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NaiveDateTime;

impl serde::Serialize for DateTime<Utc> {}
impl<'de> serde::Deserialize<'de> for DateTime<Utc> {}
impl serde::Serialize for NaiveDate {}
impl<'de> serde::Deserialize<'de> for NaiveDate {}
impl serde::Serialize for NaiveTime {}
impl<'de> serde::Deserialize<'de> for NaiveTime {}
impl serde::Serialize for NaiveDateTime {}
impl<'de> serde::Deserialize<'de> for NaiveDateTime {}
