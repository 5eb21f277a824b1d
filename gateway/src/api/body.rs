//! Request and response bodies: JSON in (checked, with limits), pages of lists, committed writes
//! with their tx id and block.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, Failure, TX_ID_HEADER};
use crate::ledger::Committed;

pub const BLOCK_HEADER: &str = "x-block-number";

/// Refuses a body not labelled `application/json`. A page of another origin can make a browser
/// send a body only as `text/plain` or a form without asking the gateway first (CORS), so a JSON
/// body under those types is refused whatever it holds.
pub fn require_json(req: &HttpRequest) -> Result<(), Failure> {
    let ct = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("(not text)"));
    let essence = ct.and_then(|c| c.split(';').next()).unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    let got = ct.map_or_else(|| "none".to_owned(), |c| c.chars().take(100).collect());
    Err(ApiError::UnsupportedMediaType(format!(
        "the body must be sent as Content-Type: application/json, not {got} (curl: -H 'content-type: application/json')"
    ))
    .into())
}

/// Reads a request body of at most `limit` bytes that must be JSON, labelled so
/// (`require_json`), with a 4xx naming what is wrong; the bytes are kept as sent.
pub async fn json_bytes(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<web::Bytes, Failure> {
    require_json(req)?;
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
pub async fn json_body<T: DeserializeOwned>(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<T, Failure> {
    let buf = json_bytes(req, payload, limit).await?;
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

/// One page of a list as the chaincode pages it: items by id (versions by number), the bookmark
/// being the last of the page when more follow.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdPage<T> {
    pub items: Vec<T>,
    /// Opaque: pass it as `bookmark` to read the next page; empty when there is none.
    pub bookmark: String,
}

impl<T> From<svcflow_model::page::Page<T>> for IdPage<T> {
    fn from(p: svcflow_model::page::Page<T>) -> Self {
        Self { items: p.items, bookmark: p.bookmark }
    }
}

/// A whole list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A JSON response for a committed write: the tx id and block in headers.
pub fn committed<T: Serialize>(status: StatusCode, body: &T, c: &Committed) -> HttpResponse {
    HttpResponse::build(status).insert_header((TX_ID_HEADER, c.tx_id.as_str())).insert_header((BLOCK_HEADER, c.block_number.to_string())).json(body)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn only_application_json_is_a_json_body() {
        for ct in ["application/json", "application/json; charset=utf-8", "Application/JSON"] {
            assert!(require_json(&TestRequest::default().insert_header((header::CONTENT_TYPE, ct)).to_http_request()).is_ok(), "{ct}");
        }
        for ct in
            [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), Some("application/jsonx"), None]
        {
            let mut r = TestRequest::default();
            if let Some(ct) = ct {
                r = r.insert_header((header::CONTENT_TYPE, ct));
            }
            let e = require_json(&r.to_http_request()).unwrap_err();
            assert_eq!((e.error.status(), e.error.code()), (415, "unsupported_media_type"), "{ct:?}");
            assert!(e.error.to_string().contains(ct.unwrap_or("none")), "{}", e.error);
        }
    }
}
