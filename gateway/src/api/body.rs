//! Request and response bodies: JSON in (checked, with limits), pages of lists, committed writes
//! with their tx id and block.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, Failure, TX_ID_HEADER};
use crate::ledger::Committed;

pub const BLOCK_HEADER: &str = "x-block-number";

/// Reads a request body of at most `limit` bytes that must be JSON, whatever its content type
/// says (so a pasted `curl -d` works), with a 4xx naming what is wrong; the bytes are kept as sent.
pub async fn json_bytes(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, Failure> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!("the JSON body is over {limit} bytes")).into());
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.is_empty() {
        return Err(ApiError::BadRequest("a JSON body is required".into()).into());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&buf).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    Ok(buf.freeze())
}

/// [`json_bytes`], decoded.
pub async fn json_body<T: DeserializeOwned>(payload: web::Payload, limit: usize) -> Result<T, Failure> {
    let buf = json_bytes(payload, limit).await?;
    serde_json::from_slice(&buf).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")).into())
}

/// `?page_size=&bookmark=` of every list.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u32>,
    /// Opaque. Absent or empty for the first page; else the `bookmark` a previous page of the same
    /// list returned: another value may be refused (400).
    #[serde(default)]
    pub bookmark: String,
}

pub use svcflow_model::page::MAX_PAGE_SIZE;

/// One page of a list the chaincode returns whole (private data has no paginated range
/// queries): items sorted by id, the bookmark being the last id of the page.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdPage<T> {
    pub items: Vec<T>,
    /// Opaque: pass it as `bookmark` to read the next page; empty when there is none.
    pub bookmark: String,
}

/// A whole list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

pub fn paginate<T>(mut all: Vec<T>, id: impl Fn(&T) -> &str, q: &PageQuery) -> Result<IdPage<T>, Failure> {
    let size = q.page_size.unwrap_or(svcflow_model::page::DEFAULT_PAGE_SIZE);
    if size == 0 || size > MAX_PAGE_SIZE {
        return Err(ApiError::BadRequest(format!("page_size must be 1 to {MAX_PAGE_SIZE}")).into());
    }
    all.sort_by(|a, b| id(a).cmp(id(b)));
    let start = if q.bookmark.is_empty() { 0 } else { all.partition_point(|x| id(x) <= q.bookmark.as_str()) };
    let mut items: Vec<T> = all.into_iter().skip(start).collect();
    let more = items.len() > size as usize;
    items.truncate(size as usize);
    let bookmark = if more { items.last().map(|x| id(x).to_owned()).unwrap_or_default() } else { String::new() };
    Ok(IdPage { items, bookmark })
}

/// A JSON response for a committed write: the tx id and block in headers.
pub fn committed<T: Serialize>(status: StatusCode, body: &T, c: &Committed) -> HttpResponse {
    HttpResponse::build(status).insert_header((TX_ID_HEADER, c.tx_id.as_str())).insert_header((BLOCK_HEADER, c.block_number.to_string())).json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_by_id_with_a_bookmark() {
        let all: Vec<String> = ["c", "a", "e", "b", "d"].iter().map(|s| s.to_string()).collect();
        let q = |n, b: &str| PageQuery { page_size: Some(n), bookmark: b.into() };
        let p = paginate(all.clone(), |s| s.as_str(), &q(2, "")).unwrap();
        assert_eq!((p.items, p.bookmark.as_str()), (vec!["a".to_string(), "b".into()], "b"));
        let p = paginate(all.clone(), |s| s.as_str(), &q(2, "b")).unwrap();
        assert_eq!((p.items, p.bookmark.as_str()), (vec!["c".to_string(), "d".into()], "d"));
        let p = paginate(all.clone(), |s| s.as_str(), &q(2, "d")).unwrap();
        assert_eq!((p.items, p.bookmark.as_str()), (vec!["e".to_string()], ""));
        assert_eq!(paginate(all.clone(), |s| s.as_str(), &q(0, "")).unwrap_err().error.status(), 400);
        assert_eq!(paginate(all, |s| s.as_str(), &q(101, "")).unwrap_err().error.status(), 400);
    }
}
