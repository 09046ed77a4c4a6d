//! PostgreSQL's `jetbase::db` pool: the CLI's connect options and session setup (schema,
//! isolation) on every pooled connection.

use sqlx::pool::PoolOptions;

use super::{options, prepare_session};
use crate::backend::ConnectSpec;
use crate::backend::sqlx_common::{probe, setup_error};

/// The pool for `spec`, shaped by `pool_options`.
pub(crate) async fn pool(
    spec: &ConnectSpec,
    pool_options: PoolOptions<sqlx::Postgres>,
) -> Result<sqlx::PgPool, sqlx::Error> {
    let opts = options(spec).map_err(|m| sqlx::Error::Configuration(m.into()))?;
    let setup = spec.clone();
    let po = pool_options.after_connect(move |conn, _| {
        let spec = setup.clone();
        Box::pin(async move { prepare_session(conn, &spec).await.map_err(setup_error) })
    });
    probe(&opts, async |conn| {
        prepare_session(conn, spec).await.map_err(setup_error)
    })
    .await?;
    po.connect_with(opts).await
}
