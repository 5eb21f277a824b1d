//! Refusals: why the chaincode said no, with a kind both sides name the same way.
//!
//! On the wire the kind travels twice, both stable: as the chaincode response's status (400, 403,
//! 404, 409, 500), which Fabric's gateway reports as `chaincode response <status>, <message>`,
//! and as the message's first word (`forbidden: ...`), which the peer CLI shows.

use std::fmt;

/// The kind of a refusal. `code()` and `status()` are the wire names; never renumber them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed or breaks a rule of the input (an id, a size, a name).
    BadRequest,
    /// The caller may not do this (not a participant, not a manager).
    Forbidden,
    NotFound,
    /// The state does not allow it now (exists already, closed, wrong lifecycle step).
    Conflict,
    /// The ledger failed, or stored data is unreadable: not the caller's fault.
    Internal,
    /// Not now, but in a moment: the phase is finishing a change of its participants (about one
    /// block). The same request goes through when sent again.
    Unavailable,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 6] =
        [ErrorKind::BadRequest, ErrorKind::Forbidden, ErrorKind::NotFound, ErrorKind::Conflict, ErrorKind::Internal, ErrorKind::Unavailable];

    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
        }
    }

    /// The chaincode response status that carries this kind (HTTP's numbers, for familiarity).
    pub const fn status(self) -> i32 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }

    pub fn from_status(status: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.status() == status)
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refusal: its kind and a reason for people. Displays as the wire message `code: reason`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", kind.code())]
pub struct Refusal {
    pub kind: ErrorKind,
    pub reason: String,
}

impl Refusal {
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Self {
        Self { kind, reason: reason.into() }
    }
    pub fn bad(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, reason)
    }
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, reason)
    }
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, reason)
    }
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, reason)
    }
    pub fn internal(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, reason)
    }
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, reason)
    }

    /// Reads a chaincode refusal as Fabric's gateway reports it in an error detail:
    /// `chaincode response <status>, <code>: <reason>`. Anything else (the peer's own errors, a
    /// status that is no kind of ours) is `None`: it did not come from this contract.
    pub fn from_gateway_detail(detail: &str) -> Option<Self> {
        let rest = detail.strip_prefix("chaincode response ")?;
        let (status, message) = rest.split_once(", ")?;
        let kind = ErrorKind::from_status(status.parse().ok()?)?;
        let reason = message.strip_prefix(kind.code()).and_then(|r| r.strip_prefix(": ")).unwrap_or(message);
        Some(Self::new(kind, reason))
    }
}

pub type Result<T, E = Refusal> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_round_trip() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
            assert_eq!(ErrorKind::from_status(k.status()), Some(k));
        }
        assert_eq!(ErrorKind::from_status(200), None);
        assert_eq!(Refusal::forbidden("no").to_string(), "forbidden: no");
    }

    #[test]
    fn reads_the_gateways_detail_and_nothing_else() {
        let cases: &[(&str, Option<(ErrorKind, &str)>)] = &[
            ("chaincode response 403, forbidden: User2 is not a participant", Some((ErrorKind::Forbidden, "User2 is not a participant"))),
            ("chaincode response 409, conflict: phase P2 is closed", Some((ErrorKind::Conflict, "phase P2 is closed"))),
            ("chaincode response 404, not_found: a: b", Some((ErrorKind::NotFound, "a: b"))),
            ("chaincode response 500, internal: GET_STATE failed", Some((ErrorKind::Internal, "GET_STATE failed"))),
            // The status decides; a message without our prefix is kept whole.
            ("chaincode response 400, odd", Some((ErrorKind::BadRequest, "odd"))),
            ("chaincode response 418, teapot", None),
            ("failed to execute transaction: forbidden: x", None),
            ("tx creator does not have read access permission", None),
        ];
        for (detail, want) in cases {
            let got = Refusal::from_gateway_detail(detail).map(|r| (r.kind, r.reason));
            assert_eq!(got, want.map(|(k, r)| (k, r.to_owned())), "{detail}");
        }
    }
}
