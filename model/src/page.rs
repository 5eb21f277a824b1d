//! Pages of lists.

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};

pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Stored bytes per page of private items: a page holds at least one item and stops before this
/// many bytes, so a page of large records stays within the 4 MiB a gRPC client takes by default
/// (the gateway's does: its Fabric Gateway client sets no other limit).
pub const MAX_PAGE_BYTES: usize = 3584 << 10;

/// A page of a list and the bookmark of the next one (empty when there is none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque: pass it as `bookmark` to read the next page; empty when there is none.
    pub bookmark: String,
}

/// Which page to read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageReq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub bookmark: String,
}

impl PageReq {
    /// The page size asked for, or the default; 1 to [`MAX_PAGE_SIZE`].
    pub fn size(&self) -> Result<u32> {
        let size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if size == 0 || size > MAX_PAGE_SIZE {
            return Err(Refusal::bad(format!("page_size must be 1 to {MAX_PAGE_SIZE}")));
        }
        Ok(size)
    }
}
