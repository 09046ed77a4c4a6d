//! Benchmark (prints figures, asserts nothing): acquire-and-query throughput of the pool
//! `jetbase::db` builds, against a plain sqlx pool of the same size, at 1, 8 and 64
//! concurrent tasks. Run by `bench/pool.sh`; the URL comes from `DATABASE_URL`.

use std::path::Path;
use std::time::{Duration, Instant};

use jetbase::db::{self, Pool, PoolSettings};

const RUN: Duration = Duration::from_secs(3);

async fn drive<F, Fut>(tasks: usize, query: F) -> f64
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let local = tokio::task::LocalSet::new();
    let count = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let started = Instant::now();
    for _ in 0..tasks {
        let q = query.clone();
        let count = std::rc::Rc::clone(&count);
        local.spawn_local(async move {
            while started.elapsed() < RUN {
                q().await;
                count.set(count.get() + 1);
            }
        });
    }
    local.await;
    #[allow(clippy::cast_precision_loss)]
    let n = count.get() as f64;
    n / started.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut settings = PoolSettings::new(jetbase::url::DatabaseUrl::parse(&url)?, Path::new("."));
        settings.pool_size = 16;
        settings.max_overflow = 0;
        let Pool::Postgres(ours) = db::connect(&settings, |_| {}).await? else {
            return Err("bench/pool.sh runs on PostgreSQL".into());
        };
        let plain = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(&url)
            .await?;
        // Both pools opened all their connections first; then the two alternate per point.
        for pool in [&plain, &ours] {
            let conns: Vec<_> = futures_connections(pool, 16).await?;
            drop(conns);
        }
        println!("acquire + SELECT 1, {} s per point, pool of 16", RUN.as_secs());
        for tasks in [1, 8, 64] {
            let p = plain.clone();
            let base = drive(tasks, move || {
                let p = p.clone();
                async move {
                    let _: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&p).await.unwrap_or(0);
                }
            })
            .await;
            let o = ours.clone();
            let mine = drive(tasks, move || {
                let o = o.clone();
                async move {
                    let _: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&o).await.unwrap_or(0);
                }
            })
            .await;
            println!(
                "{tasks:>3} tasks: plain sqlx {base:>8.0} q/s, jetbase::db {mine:>8.0} q/s ({:+.1}%)",
                (mine / base - 1.0) * 100.0
            );
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

async fn futures_connections(
    pool: &sqlx::PgPool,
    n: usize,
) -> Result<Vec<sqlx::pool::PoolConnection<sqlx::Postgres>>, sqlx::Error> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(pool.acquire().await?);
    }
    Ok(held)
}
