//! The migration lock, written once over `Backend`: the original's `jetbase_lock` row
//! protocol (COMPAT 7), so a Python holder stops us and we stop it, plus a lease in jetbase's
//! own side table (`jetbase_lock_lease`: owner, heartbeat, time to live) that makes a lock of
//! ours impossible to leave stuck. A lock without a matching lease (the Python tool's) is
//! never taken over automatically.

use crate::backend::{Backend, DbError, Value};
use crate::history::{LOCK_TABLE, MIGRATIONS_TABLE, table_exists};

pub const LEASE_TABLE: &str = "jetbase_lock_lease";

/// Who we are when we hold the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// A fresh UUID, stored as `jetbase_lock.process_id` (as the original does).
    pub process_id: String,
    pub host: String,
    pub pid: u32,
}

impl Owner {
    #[must_use]
    pub fn new() -> Owner {
        Owner {
            process_id: uuid::Uuid::new_v4().to_string(),
            host: hostname(),
            pid: std::process::id(),
        }
    }
}

impl Default for Owner {
    fn default() -> Self {
        Owner::new()
    }
}

/// This machine's host name.
#[must_use]
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// True unless the process certainly does not exist on this machine.
#[must_use]
pub fn pid_alive(pid: i64) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// The lease of the current holder, when the holder is a jetbase that wrote one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Lease {
    pub owner_host: String,
    pub owner_pid: i64,
    #[serde(serialize_with = "crate::report::rfc3339_str")]
    pub acquired_at: String,
    #[serde(serialize_with = "crate::report::rfc3339_str")]
    pub heartbeat_at: String,
    pub ttl_seconds: i64,
    /// Seconds since the last heartbeat, by the database's clock.
    pub heartbeat_age_seconds: f64,
}

impl Lease {
    #[must_use]
    pub fn expired(&self) -> bool {
        self.heartbeat_age_seconds > self.ttl_seconds as f64
    }
}

/// The lock row as read, with our lease when it belongs to the current holder.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LockStatus {
    pub is_locked: bool,
    #[serde(serialize_with = "crate::report::rfc3339")]
    pub locked_at: Option<String>,
    pub process_id: Option<String>,
    pub lease: Option<Lease>,
    /// The holder's database session is gone: we obtained the session lock every holder
    /// keeps (PostgreSQL advisory lock) although the row is held.
    #[serde(skip)]
    pub holder_session_gone: bool,
}

impl LockStatus {
    /// Who holds the lock, for messages.
    #[must_use]
    pub fn holder(&self) -> String {
        match (&self.lease, &self.process_id) {
            (Some(l), _) => format!("jetbase pid {} on {}", l.owner_pid, l.owner_host),
            (None, Some(id)) => {
                format!("process id {id} (no lease: Python Jetbase or an older tool)")
            }
            (None, None) => "an unknown process".to_owned(),
        }
    }
}

/// Outcome of one acquire attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Acquire {
    /// We hold the lock.
    Held,
    /// Someone else holds it.
    Busy(LockStatus),
}

/// What to do about a lock someone else holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its holder is alive (or may be): wait.
    Wait,
    /// Its holder is gone: take it over, saying why.
    TakeOver(String),
    /// Held without a lease (the Python tool): never taken over automatically.
    Foreign,
}

/// Judge a held lock: a lease whose owner process is gone from this host, or whose
/// heartbeat is older than its time to live, is dead. `alive` tells whether a pid of this
/// host exists.
#[must_use]
pub fn judge(status: &LockStatus, this_host: &str, alive: impl Fn(i64) -> bool) -> Verdict {
    if !status.is_locked {
        return Verdict::Wait;
    }
    let Some(lease) = &status.lease else {
        return Verdict::Foreign;
    };
    if status.holder_session_gone {
        return Verdict::TakeOver(format!(
            "its holder, pid {} on {}, has no database session any more",
            lease.owner_pid, lease.owner_host
        ));
    }
    if lease.owner_host == this_host {
        // Same machine: the process table is the truth. A live owner only looks stale when
        // a long statement keeps its heartbeat from writing (SQLite): never steal from it.
        if alive(lease.owner_pid) {
            Verdict::Wait
        } else {
            Verdict::TakeOver(format!(
                "its holder, pid {} on this machine, is gone",
                lease.owner_pid
            ))
        }
    } else if lease.expired() {
        Verdict::TakeOver(format!(
            "its holder, pid {} on {}, sent no heartbeat for {:.0} s (lease {} s)",
            lease.owner_pid, lease.owner_host, lease.heartbeat_age_seconds, lease.ttl_seconds
        ))
    } else {
        Verdict::Wait
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_text)
}

/// Read the lock row and the holder's lease; missing tables mean unlocked (nothing is
/// created).
///
/// # Errors
/// A query fails.
pub async fn status(db: &mut dyn Backend) -> Result<LockStatus, DbError> {
    if !db.capabilities().lock_table
        || !table_exists(db, LOCK_TABLE).await?
        || !table_exists(db, MIGRATIONS_TABLE).await?
    {
        return Ok(LockStatus::default());
    }
    let sql = db.dialect().lock_status();
    let rows = db.query(&sql, &[]).await?;
    let mut st = rows
        .first()
        .map(|r| LockStatus {
            is_locked: r.first().is_some_and(Value::as_bool),
            locked_at: text(r.get(1)),
            process_id: text(r.get(2)),
            lease: None,
            holder_session_gone: false,
        })
        .unwrap_or_default();
    if st.is_locked && table_exists(db, LEASE_TABLE).await? {
        let sql = db.dialect().select_lease();
        let rows = db.query(&sql, &[]).await?;
        st.lease = rows
            .first()
            .filter(|r| text(r.first()) == st.process_id)
            .map(|r| Lease {
                owner_host: text(r.get(1)).unwrap_or_default(),
                owner_pid: r.get(2).and_then(Value::as_i64).unwrap_or_default(),
                acquired_at: text(r.get(3)).unwrap_or_default(),
                heartbeat_at: text(r.get(4)).unwrap_or_default(),
                ttl_seconds: r.get(5).and_then(Value::as_i64).unwrap_or_default(),
                #[allow(clippy::cast_precision_loss)]
                heartbeat_age_seconds: r.get(6).and_then(Value::as_i64).unwrap_or_default() as f64
                    / 1e6,
            });
    }
    Ok(st)
}

/// Run `statements` (with their parameters) in one transaction.
async fn in_transaction(
    db: &mut dyn Backend,
    work: &[(String, Vec<Value>)],
) -> Result<Vec<u64>, DbError> {
    db.begin().await?;
    let mut counts = Vec::with_capacity(work.len());
    for (sql, params) in work {
        match db.execute(sql, params).await {
            Ok(n) => counts.push(n),
            Err(e) => {
                let _ = db.rollback().await;
                return Err(e);
            }
        }
    }
    db.commit().await?;
    Ok(counts)
}

fn lease_rows(db: &dyn Backend, owner: &Owner, ttl_seconds: i64) -> Vec<(String, Vec<Value>)> {
    let d = db.dialect();
    vec![
        (d.clear_lease(), vec![]),
        (
            d.insert_lease(),
            vec![
                Value::from(owner.process_id.as_str()),
                Value::from(owner.host.as_str()),
                Value::Int(i64::from(owner.pid)),
                Value::Int(ttl_seconds),
            ],
        ),
    ]
}

/// Try once to take the lock: the original's guarded UPDATE, and our lease, in one
/// transaction.
///
/// # Errors
/// A statement fails.
pub async fn try_acquire(
    db: &mut dyn Backend,
    owner: &Owner,
    ttl_seconds: i64,
) -> Result<Acquire, DbError> {
    // Where the database has session locks, every holder keeps one, taken before the row:
    // a live holder makes ours fail, a dead holder's session has dropped it.
    let session = db.try_session_lock().await?;
    if session == Some(false) {
        return Ok(Acquire::Busy(status(db).await?));
    }
    let acquire = db.dialect().acquire_lock();
    db.begin().await?;
    let taken = match db
        .execute(&acquire, &[Value::from(owner.process_id.as_str())])
        .await
    {
        Ok(n) => n == 1,
        Err(e) => {
            let _ = db.rollback().await;
            return Err(e);
        }
    };
    if !taken {
        db.rollback().await?;
        let mut st = status(db).await?;
        if session == Some(true) {
            // Held, yet its holder's session lock was free: the holder's session is gone.
            // Ours is kept only if we take the lock over; the caller releases it otherwise.
            st.holder_session_gone = st.lease.is_some();
            if !st.holder_session_gone {
                db.release_session_lock().await?;
            }
        }
        return Ok(Acquire::Busy(st));
    }
    for (sql, params) in lease_rows(db, owner, ttl_seconds) {
        if let Err(e) = db.execute(&sql, &params).await {
            let _ = db.rollback().await;
            return Err(e);
        }
    }
    db.commit().await?;
    Ok(Acquire::Held)
}

/// Take over a lock held by `old` (a dead holder): a compare-and-set on the row, so of
/// several waiters exactly one wins. Returns whether we won.
///
/// # Errors
/// A statement fails.
pub async fn take_over(
    db: &mut dyn Backend,
    owner: &Owner,
    old: &str,
    ttl_seconds: i64,
) -> Result<bool, DbError> {
    let cas = db.dialect().take_over_lock();
    db.begin().await?;
    let won = match db
        .execute(
            &cas,
            &[Value::from(owner.process_id.as_str()), Value::from(old)],
        )
        .await
    {
        Ok(n) => n == 1,
        Err(e) => {
            let _ = db.rollback().await;
            return Err(e);
        }
    };
    if !won {
        db.rollback().await?;
        return Ok(false);
    }
    for (sql, params) in lease_rows(db, owner, ttl_seconds) {
        if let Err(e) = db.execute(&sql, &params).await {
            let _ = db.rollback().await;
            return Err(e);
        }
    }
    db.commit().await?;
    Ok(true)
}

/// Renew our lease. `false` when the lease is no longer ours (taken over).
///
/// # Errors
/// The update fails (a busy database: the caller retries on the next beat).
pub async fn heartbeat(db: &mut dyn Backend, process_id: &str) -> Result<bool, DbError> {
    let sql = db.dialect().heartbeat();
    Ok(db.execute(&sql, &[Value::from(process_id)]).await? == 1)
}

/// Inside a transaction: is the lock still ours? Locks the row where the database can,
/// so that a takeover waits for the transaction (fencing).
///
/// # Errors
/// The query fails.
pub async fn still_ours(db: &mut dyn Backend, process_id: &str) -> Result<bool, DbError> {
    let sql = db.dialect().fence();
    let rows = db.query(&sql, &[]).await?;
    Ok(rows.first().and_then(|r| text(r.first())).as_deref() == Some(process_id))
}

/// Release the lock we hold (and our lease); a lock someone else took over is left alone.
///
/// # Errors
/// The update fails.
pub async fn release(db: &mut dyn Backend, process_id: &str) -> Result<(), DbError> {
    let _ = db.release_session_lock().await;
    let d = db.dialect();
    let work = vec![
        (d.release_lock(), vec![Value::from(process_id)]),
        (
            format!(
                "DELETE FROM {LEASE_TABLE} WHERE id = 1 AND process_id = {}",
                d.placeholder(1)
            ),
            vec![Value::from(process_id)],
        ),
    ];
    in_transaction(db, &work).await.map(|_| ())
}

/// Release the lock whoever holds it. Returns false when there was no lock table.
///
/// # Errors
/// The update fails.
pub async fn force_unlock(db: &mut dyn Backend) -> Result<bool, DbError> {
    if !db.capabilities().lock_table || !table_exists(db, LOCK_TABLE).await? {
        return Ok(false);
    }
    let sql = db.dialect().force_unlock();
    db.execute(&sql, &[]).await.map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(lease: Option<Lease>) -> LockStatus {
        LockStatus {
            is_locked: true,
            locked_at: Some("2026-01-01 00:00:00".into()),
            process_id: Some("p".into()),
            lease,
            holder_session_gone: false,
        }
    }

    fn lease(host: &str, pid: i64, age: f64) -> Lease {
        Lease {
            owner_host: host.into(),
            owner_pid: pid,
            acquired_at: String::new(),
            heartbeat_at: String::new(),
            ttl_seconds: 30,
            heartbeat_age_seconds: age,
        }
    }

    #[test]
    fn judge_never_takes_over_a_lock_without_lease() {
        assert_eq!(judge(&held(None), "h", |_| false), Verdict::Foreign);
    }

    #[test]
    fn judge_same_host_trusts_the_process_table() {
        let st = held(Some(lease("h", 42, 999.0)));
        assert_eq!(
            judge(&st, "h", |_| true),
            Verdict::Wait,
            "alive, however stale"
        );
        assert!(matches!(judge(&st, "h", |_| false), Verdict::TakeOver(r) if r.contains("pid 42")));
    }

    #[test]
    fn judge_takes_over_when_the_holders_session_is_gone() {
        let mut st = held(Some(lease("other", 1, 1.0)));
        assert_eq!(judge(&st, "h", |_| true), Verdict::Wait);
        st.holder_session_gone = true;
        assert!(
            matches!(judge(&st, "h", |_| true), Verdict::TakeOver(r) if r.contains("no database session"))
        );
    }

    #[test]
    fn judge_other_host_goes_by_the_heartbeat() {
        assert_eq!(
            judge(&held(Some(lease("other", 1, 5.0))), "h", |_| false),
            Verdict::Wait
        );
        assert!(matches!(
            judge(&held(Some(lease("other", 1, 31.0))), "h", |_| true),
            Verdict::TakeOver(r) if r.contains("no heartbeat for 31 s")
        ));
    }

    #[test]
    fn pid_alive_knows_this_process_and_a_dead_one() {
        assert!(pid_alive(i64::from(std::process::id())));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        child.wait().unwrap();
        assert!(!pid_alive(pid));
    }
}
