//! The responses the handlers name in their `#[utoipa::path(responses(...))]` beyond a plain
//! body: committed writes with their headers, sets of error responses, and raw bytes.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

use super::body::BLOCK_HEADER;
use super::error::{ApiError, TX_ID_HEADER};

pub fn string_header(description: &str) -> utoipa::openapi::Header {
    HeaderBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).description(Some(description)).build()
}

/// References to the error responses of these kinds, by status.
pub fn refs(kinds: &[ApiError]) -> BTreeMap<String, RefOr<Response>> {
    kinds.iter().map(|k| (k.status().to_string(), RefOr::Ref(Ref::from_response_name(k.code())))).collect()
}

macro_rules! error_set {
    ($($(#[$doc:meta])* $name:ident: $($kind:ident),+;)+) => {$(
        $(#[$doc])*
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                refs(&[$(ApiError::$kind(String::new())),+])
            }
        }
    )+};
}

// The errors an operation may answer beyond those of every /v1 route (401, 500, 503), for its
// `responses(...)`.
error_set! {
    /// Invalid input, not the caller's to see, or not there.
    Refused: BadRequest, Forbidden, NotFound;
    /// Invalid input only.
    BadInput: BadRequest;
    /// The state does not allow it.
    Conflicts: Conflict;
    /// The body is over its limit.
    TooLarge: PayloadTooLarge;
    /// The body is not labelled `application/json`.
    NotJson: UnsupportedMediaType;
    /// The stored object does not match its anchor.
    Mismatch: Integrity;
    /// The object store has no room.
    StoreFull: InsufficientStorage;
}

/// Bytes of any kind: a file's.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))).into()
    }
}

impl ToSchema for Binary {}

pub fn committed_response(description: &str, schema: &str) -> ResponseBuilder {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .header(TX_ID_HEADER, string_header("The Fabric transaction id of the committed write."))
        .header(BLOCK_HEADER, HeaderBuilder::new().schema(Some(u64::schema())).description(Some("The block the transaction committed in.")).build())
}

/// A committed write answered with status `S`: a `T`, with its transaction in `x-tx-id` and its
/// block in `x-block-number`.
pub struct Committed<T, const S: u16>(PhantomData<T>);

impl<T: ToSchema, const S: u16> IntoResponses for Committed<T, S> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let description = if S == 201 { "Created, committed." } else { "Changed, committed." };
        BTreeMap::from([(S.to_string(), RefOr::T(committed_response(description, &T::name()).build()))])
    }
}
