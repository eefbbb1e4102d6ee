//! `DELETE /api/superadmin/clients/{client_id}`: a client and all its data go (superadmin only,
//! enforced by `app`). Creating a client is an upload (`api::uploads`).
//!
//! Design decision: the database deletes in one function call (`delete_client`), so a delete is
//! one RPC and all or nothing; an unknown id is its PT404, answered 404 `client_not_found`.

use crate::db::{self, Rpc};
use crate::error::ApiError;

pub async fn delete(rpc: &impl Rpc, client_id: &str) -> Result<(), ApiError> {
    db::delete_client(rpc, client_id).await
}
