//! The authenticated caller: the wallet user a verified TLS client certificate stands for.

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpRequest};

use super::error::{ApiError, Failure};
use super::state::State;
use crate::service::Caller;
use crate::tls::ClientCert;

impl FromRequest for Caller {
    type Error = Failure;
    type Future = Ready<Result<Self, Failure>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(caller(req))
    }
}

fn caller(req: &HttpRequest) -> Result<Caller, Failure> {
    let state = req.app_data::<State>().ok_or_else(|| ApiError::Internal("no state".into()))?;
    let unauth = |m: String| Failure::from(ApiError::Unauthenticated(m));
    match req.conn_data::<ClientCert>() {
        None | Some(ClientCert::None) => Err(unauth(format!(
            "a client certificate issued by {}'s CA is required (curl --cert <user>/tls/client.crt --key <user>/tls/client.key)",
            state.wallet.msp_id()
        ))),
        Some(ClientCert::Presented { verify_error: Some(why), .. }) => {
            Err(unauth(format!("client certificate refused: {why} (it must be issued by {}'s TLS CA)", state.wallet.msp_id())))
        }
        Some(ClientCert::Presented { der, verify_error: None }) => {
            let u = state.wallet.for_client_cert(der)?;
            Ok(Caller { user: u.name.clone(), msp_id: u.msp_id.clone() })
        }
    }
}
