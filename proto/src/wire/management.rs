//! TEMPORARY minimal version; the full codec replaces this file.
#![allow(missing_docs)]
use super::Result;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManagementId(pub u16);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManagementAction {
    Get,
    Set,
    Response,
    Command,
    Acknowledge,
    Reserved(u8),
}
impl ManagementAction {
    pub const fn from_nibble(n: u8) -> Self {
        match n & 15 {
            0 => Self::Get,
            1 => Self::Set,
            2 => Self::Response,
            3 => Self::Command,
            4 => Self::Acknowledge,
            n => Self::Reserved(n),
        }
    }
    pub const fn nibble(self) -> u8 {
        match self {
            Self::Get => 0,
            Self::Set => 1,
            Self::Response => 2,
            Self::Command => 3,
            Self::Acknowledge => 4,
            Self::Reserved(n) => n & 15,
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagementData<'a> {
    Empty,
    Raw(&'a [u8]),
}
impl<'a> ManagementData<'a> {
    pub fn parse(_id: ManagementId, data: &'a [u8]) -> Result<Self> {
        Ok(if data.is_empty() {
            Self::Empty
        } else {
            Self::Raw(data)
        })
    }
    pub fn wire_len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::Raw(d) => d.len(),
        }
    }
    pub fn write(&self, buf: &mut [u8]) {
        if let Self::Raw(d) = self {
            buf[..d.len()].copy_from_slice(d)
        }
    }
}
