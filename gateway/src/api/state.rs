//! The service state as the handlers extract it (actix's app data).

use std::sync::Arc;

use actix_web::web;

use crate::service::AppState;

pub type State = web::Data<Arc<AppState>>;
