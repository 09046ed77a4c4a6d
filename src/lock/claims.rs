//! The migration lock on a database without compare-and-set (ClickHouse), where the original
//! keeps no lock at all.
//!
//! # What it builds on
//! ClickHouse has no transactions, no row locks, and no conditional UPDATE on MergeTree (a
//! mutation is applied later, to every row it matches, and reports nothing). What it does
//! guarantee is that DDL on one table name is serialised by the server: of several
//! `CREATE TABLE x` (without `IF NOT EXISTS`) only one succeeds, the others fail with
//! `TABLE_ALREADY_EXISTS` (code 57). On a cluster, `ON CLUSTER` DDL goes through one
//! totally ordered queue in ZooKeeper, so every node sees the creations in the same order
//! and again only the first succeeds. Creating a table is therefore a compare-and-set on its
//! name, and that is the only one this module uses.
//!
//! # The protocol
//! The lock is a sequence of *claims*, tables named `jetbase_lock_claim_<epoch>` with epochs
//! 1, 2, 3, ... The claim with the highest epoch is the state of the lock; its rows say what
//! it is: `hold` (owner, where it runs, its lease's time to live), then a `beat` row per
//! heartbeat, or `released`. To move the lock from epoch N (free, released, or held by a
//! holder judged dead by the same rules as on the other databases) one creates claim N + 1:
//! of all who try, exactly one succeeds, and writes its first row. Then:
//! - the winner checks that no claim above N + 1 exists (a process that read an old epoch
//!   and created a claim long dropped would see the newer one and give up, dropping it);
//! - claims below the winner's are dropped, so two or three tables exist at any time; the
//!   highest is never dropped, so the highest existing epoch only grows;
//! - releasing is creating claim N + 1 with a `released` row: if someone took the lock over
//!   meanwhile, the release changes nothing.
//!
//! On one server the claim and its first row are one statement (`CREATE TABLE ... AS
//! SELECT`). A claim whose first row is missing (on a cluster, its creator stopped between
//! the two statements; or the server died) is judged by the age of its table: after
//! [`UNFINISHED_CLAIM_TTL`] it is taken over.
//!
//! Fencing: before a file is recorded, a holder whose heartbeat fell behind checks that its
//! claim is still the highest (`Dialect::fence`). Without transactions a takeover may still
//! happen between that check and the history write; as on MySQL, a lease long enough for
//! the slowest statement keeps that from happening.
//!
//! The Python tool takes no lock on ClickHouse and never reads these tables: a Python run
//! is not stopped by a jetbase holder.

use super::{Acquire, Identity, Lease, LockStatus, Owner};
use crate::backend::{Backend, DbError, Value};

/// The prefix of every claim table.
pub const PREFIX: &str = "jetbase_lock_claim_";

/// How long a claim may stay without its first row before it counts as abandoned.
/// Only liveness depends on it: a slow creator that finds a newer claim gives its own up.
pub const UNFINISHED_CLAIM_TTL: i64 = 10;

/// How the claims say "nobody yet": no claim table, or the highest released.
fn claim_name(epoch: u64) -> String {
    format!("{PREFIX}{epoch}")
}

fn epoch_of(name: &str) -> Option<u64> {
    name.strip_prefix(PREFIX)?.parse().ok()
}

/// The claim tables, lowest epoch first.
async fn claims(db: &mut dyn Backend) -> Result<Vec<(u64, String)>, DbError> {
    let sql = db.dialect().list_claims();
    let mut out: Vec<(u64, String)> = db
        .query(&sql, &[])
        .await?
        .iter()
        .filter_map(|r| r.first().and_then(Value::as_text))
        .filter_map(|name| Some((epoch_of(&name)?, name)))
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// What a claim says.
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Its first row is not there (yet): created `age` seconds ago, at `created`.
    Unfinished {
        age: i64,
        created: String,
    },
    Held(Box<Lease>, String, String),
    Released,
}

async fn read(db: &mut dyn Backend, name: &str) -> Result<State, DbError> {
    let sql = db.dialect().select_claim(name);
    let rows = db.query(&sql, &[]).await?;
    let (text, int) = (crate::backend::text_at, crate::backend::int_at);
    let Some(head) = rows
        .iter()
        .find(|r| matches!(text(r, 0).as_str(), "hold" | "released"))
    else {
        let sql = db.dialect().claim_age(name);
        let rows = db.query(&sql, &[]).await?;
        let row = rows.first();
        return Ok(State::Unfinished {
            age: row.map_or(0, |r| int(r, 0)),
            created: row.map(|r| text(r, 1)).unwrap_or_default(),
        });
    };
    if text(head, 0) == "released" {
        return Ok(State::Released);
    }
    // The last heartbeat: the latest row of any kind.
    let age = rows.iter().map(|r| int(r, 7)).min().unwrap_or_default();
    let heartbeat_at = rows.iter().map(|r| text(r, 6)).max().unwrap_or_default();
    let (owner, owner_session_lock) = Identity::decode(&text(head, 2));
    let lease = Lease {
        owner_host: owner.host.clone(),
        owner,
        owner_session_lock,
        owner_pid: int(head, 3),
        acquired_at: text(head, 5),
        heartbeat_at,
        ttl_seconds: int(head, 4),
        #[allow(clippy::cast_precision_loss)]
        heartbeat_age_seconds: age as f64,
    };
    Ok(State::Held(Box::new(lease), text(head, 1), text(head, 5)))
}

/// The highest claim and what it says; `None` when there is none.
async fn latest(db: &mut dyn Backend) -> Result<Option<(u64, String, State)>, DbError> {
    // The highest claim is never dropped, but one listed a moment before it was replaced and
    // dropped (many processes taking and releasing the lock in turn) may be gone when read:
    // list again.
    let mut attempts = 0;
    loop {
        let Some((epoch, name)) = claims(db).await?.pop() else {
            return Ok(None);
        };
        match read(db, &name).await {
            Ok(state) => return Ok(Some((epoch, name, state))),
            Err(e) if gone(&e) && attempts < 200 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The table no longer exists: ClickHouse's UNKNOWN_TABLE (60), or TABLE_IS_DROPPED (218)
/// when the drop came while the statement ran. Claims below the highest are dropped while
/// slower processes may still read, write or even re-create them.
pub(crate) fn gone(e: &DbError) -> bool {
    match e.code.as_deref() {
        Some(code) => code == "60" || code == "218",
        None => {
            e.message.contains("doesn't exist")
                || e.message.contains("does not exist")
                || e.message.contains("is dropped")
        }
    }
}

fn status_of(state: State) -> LockStatus {
    match state {
        State::Released => LockStatus::default(),
        State::Held(lease, process_id, acquired) => LockStatus {
            is_locked: true,
            locked_at: Some(acquired),
            process_id: Some(process_id),
            lease: Some(*lease),
            session: super::HolderSession::Unknown,
        },
        State::Unfinished { age, created } => LockStatus {
            is_locked: true,
            locked_at: Some(created.clone()),
            // Matches no process: only a takeover of this very claim can replace it.
            process_id: Some(String::new()),
            lease: Some(Lease {
                owner_host: "a process that did not finish writing its claim".to_owned(),
                owner: Identity::default(),
                owner_session_lock: false,
                owner_pid: 0,
                acquired_at: created.clone(),
                heartbeat_at: created,
                ttl_seconds: UNFINISHED_CLAIM_TTL,
                #[allow(clippy::cast_precision_loss)]
                heartbeat_age_seconds: age as f64,
            }),
            session: super::HolderSession::Unknown,
        },
    }
}

/// The lock as the highest claim says.
///
/// # Errors
/// A query fails.
pub async fn status(db: &mut dyn Backend) -> Result<LockStatus, DbError> {
    Ok(latest(db)
        .await?
        .map_or_else(LockStatus::default, |(_, _, s)| status_of(s)))
}

/// The server said the table exists: someone else created the claim first.
fn already_exists(e: &DbError) -> bool {
    e.code.as_deref() == Some("57") || e.message.contains("already exists")
}

/// Who writes a claim's first row.
struct Writer<'a> {
    kind: &'static str,
    process_id: &'a str,
    host: String,
    pid: i64,
    ttl: i64,
}

impl<'a> Writer<'a> {
    fn holder(owner: &'a Owner, ttl: i64) -> Writer<'a> {
        Writer {
            kind: "hold",
            process_id: &owner.process_id,
            host: owner.identity.encode(false),
            pid: i64::from(owner.pid),
            ttl,
        }
    }

    fn release() -> Writer<'static> {
        Writer {
            kind: "released",
            process_id: "",
            host: super::hostname(),
            pid: i64::from(std::process::id()),
            ttl: 0,
        }
    }
}

/// Try to create claim `epoch` and write its first row. True when it is ours and the
/// highest; claims below it are then dropped.
async fn claim(db: &mut dyn Backend, epoch: u64, who: &Writer<'_>) -> Result<bool, DbError> {
    let name = claim_name(epoch);
    let row = [
        Value::from(who.kind),
        Value::from(who.process_id),
        Value::Text(who.host.clone()),
        Value::Int(who.pid),
        Value::Int(who.ttl),
    ];
    let (create, with_row) = db.dialect().create_claim(&name);
    let params: &[Value] = if with_row { &row } else { &[] };
    match db.execute(&create, params).await {
        Ok(_) => {}
        // Someone else created it first; or it was an old epoch (we read the claims before
        // newer ones were made), re-created after its drop and dropped again by the winner
        // of a newer one while our `AS SELECT` wrote its row.
        Err(e) if already_exists(&e) || gone(&e) => return Ok(false),
        Err(e) => return lost_or(db, epoch, e).await,
    }
    if !with_row {
        let insert = db.dialect().insert_claim(&name);
        match db.execute(&insert, &row).await {
            Ok(_) => {}
            Err(e) if gone(&e) => return Ok(false),
            Err(e) => return lost_or(db, epoch, e).await,
        }
    }
    let all = claims(db).await?;
    if all.last().map(|(e, _)| *e) != Some(epoch) {
        // An old epoch, created again by a process that read the claims long ago.
        let sql = db.dialect().drop_claim(&name);
        let _ = db.execute(&sql, &[]).await;
        return Ok(false);
    }
    for (e, old) in &all {
        if *e < epoch {
            let sql = db.dialect().drop_claim(old);
            let _ = db.execute(&sql, &[]).await;
        }
    }
    Ok(true)
}

/// A write to claim `epoch` failed with `e`. When a newer claim exists, the failure was a
/// lost race whatever the server said: the winner drops the claims below its own, and a
/// server writing into a table dropped under it fails in more ways than UNKNOWN_TABLE (18.16
/// also reports missing part files and directories). Otherwise the error stands.
async fn lost_or(db: &mut dyn Backend, epoch: u64, e: DbError) -> Result<bool, DbError> {
    match claims(db).await {
        Ok(all) if all.last().is_some_and(|(newest, _)| *newest > epoch) => Ok(false),
        _ => Err(e),
    }
}

/// Try once to take the lock. `Held` carries the name of our claim (what the fence expects).
///
/// # Errors
/// A statement fails.
pub async fn try_acquire(
    db: &mut dyn Backend,
    owner: &Owner,
    ttl_seconds: i64,
) -> Result<Acquire, DbError> {
    let who = Writer::holder(owner, ttl_seconds);
    for _ in 0..3 {
        let next = match latest(db).await? {
            None => 1,
            Some((epoch, _, State::Released)) => epoch + 1,
            Some((_, _, state)) => return Ok(Acquire::Busy(Box::new(status_of(state)))),
        };
        if claim(db, next, &who).await? {
            return Ok(Acquire::Held(claim_name(next)));
        }
    }
    Ok(Acquire::Busy(Box::new(status(db).await?)))
}

/// Take over the lock from `old` (judged gone): claim the next epoch if the highest claim is
/// still `old`'s. Our claim's name when we won.
///
/// # Errors
/// A statement fails.
pub async fn take_over(
    db: &mut dyn Backend,
    owner: &Owner,
    old: &str,
    ttl_seconds: i64,
) -> Result<Option<String>, DbError> {
    let Some((epoch, _, state)) = latest(db).await? else {
        return Ok(None);
    };
    let still_old = match &state {
        State::Held(_, process_id, _) => process_id == old,
        State::Unfinished { .. } => old.is_empty(),
        State::Released => false,
    };
    if !still_old {
        return Ok(None);
    }
    let won = claim(db, epoch + 1, &Writer::holder(owner, ttl_seconds)).await?;
    Ok(won.then(|| claim_name(epoch + 1)))
}

/// Renew the lease of our claim `token`: false when it is no longer the highest (taken
/// over).
///
/// # Errors
/// A statement fails.
pub async fn heartbeat(db: &mut dyn Backend, token: &str) -> Result<bool, DbError> {
    if claims(db).await?.last().map(|(_, n)| n.as_str()) != Some(token) {
        return Ok(false);
    }
    let insert = db.dialect().insert_claim(token);
    let beat = [
        Value::from("beat"),
        Value::from(""),
        Value::from(""),
        Value::Int(0),
        Value::Int(0),
    ];
    match db.execute(&insert, &beat).await {
        Ok(_) => Ok(true),
        // Dropped since we listed it: a newer claim exists, ours was taken over.
        Err(e) if gone(&e) => Ok(false),
        Err(e) => lost_or(db, epoch_of(token).unwrap_or(0), e)
            .await
            .map(|_| false),
    }
}

/// Release our claim `token`, unless someone took the lock over.
///
/// # Errors
/// A statement fails.
pub async fn release(db: &mut dyn Backend, token: &str) -> Result<(), DbError> {
    let Some(epoch) = epoch_of(token) else {
        return Ok(());
    };
    if claims(db).await?.last().map(|(e, _)| *e) == Some(epoch) {
        claim(db, epoch + 1, &Writer::release()).await?;
    }
    Ok(())
}

/// Release the lock whoever holds it. False when no claim was ever made.
///
/// # Errors
/// A statement fails.
pub async fn force_unlock(db: &mut dyn Backend) -> Result<bool, DbError> {
    for _ in 0..20 {
        let next = match latest(db).await? {
            None => return Ok(false),
            Some((_, _, State::Released)) => return Ok(true),
            Some((epoch, _, _)) => epoch + 1,
        };
        if claim(db, next, &Writer::release()).await? {
            return Ok(true);
        }
    }
    Err(DbError::new(
        "the lock kept changing hands while it was being released: try again",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_names_carry_their_epoch() {
        assert_eq!(claim_name(12), "jetbase_lock_claim_12");
        assert_eq!(epoch_of("jetbase_lock_claim_12"), Some(12));
        assert_eq!(epoch_of("jetbase_lock_claim_x"), None);
        assert_eq!(epoch_of("jetbase_migrations"), None);
        assert_eq!(PREFIX, crate::backend::dialect::CLAIM_PREFIX);
    }

    #[test]
    fn a_dropped_claim_is_gone_and_a_missing_database_is_not() {
        let coded = |code: &str, message: &str| {
            let mut e = DbError::new(message);
            e.code = Some(code.to_owned());
            e
        };
        assert!(gone(&coded(
            "60",
            "Table db.jetbase_lock_claim_14 doesn't exist."
        )));
        assert!(gone(&coded("218", "Table is dropped")));
        assert!(!gone(&coded("81", "Database db doesn't exist")));
        assert!(gone(&DbError::new("Table is dropped")));
        assert!(!already_exists(&coded("60", "Table x doesn't exist.")));
    }

    #[test]
    fn an_unfinished_claim_is_taken_over_only_after_its_time() {
        let me = Identity::current();
        let fresh = status_of(State::Unfinished {
            age: 5,
            created: "2026-01-01 00:00:00".into(),
        });
        assert_eq!(
            super::super::judge(&fresh, &me, |_, _| false),
            super::super::Verdict::Wait
        );
        let old = status_of(State::Unfinished {
            age: UNFINISHED_CLAIM_TTL + 1,
            created: "2026-01-01 00:00:00".into(),
        });
        assert!(matches!(
            super::super::judge(&old, &me, |_, _| false),
            super::super::Verdict::TakeOver(_)
        ));
        assert_eq!(old.process_id.as_deref(), Some(""));
        assert!(!status_of(State::Released).is_locked);
    }
}
