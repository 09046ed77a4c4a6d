//! MySQL's and MariaDB's `jetbase::db` pool: the CLI's connect options and session setup
//! on every pooled connection.

use sqlx::pool::PoolOptions;

use super::{options, prepare_session};
use crate::backend::ConnectSpec;
use crate::backend::sqlx_common::{probe, setup_error};

/// The pool for `spec`, shaped by `pool_options`.
pub(crate) async fn pool(
    spec: &ConnectSpec,
    pool_options: PoolOptions<sqlx::MySql>,
) -> Result<sqlx::MySqlPool, sqlx::Error> {
    let opts = options(spec)
        .map_err(|m| sqlx::Error::Configuration(m.into()))?
        // Applications get a collation that sorts by the Unicode rules; the CLI keeps the
        // server's default for the charset, as pymysql does.
        .collation(spec.url.param("collation").unwrap_or("utf8mb4_unicode_ci"));
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
