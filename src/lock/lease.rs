//! Holding the migration lock for an operation: wait for a live holder (up to
//! `lock_timeout`), take over from a dead one, renew our lease with a heartbeat on a second
//! connection while the work runs, and release on every path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Acquire, HolderSession, LockStatus, Owner, Verdict};
use crate::backend::{self, Backend, Bound, Check, DbError, OpenMode};
use crate::config::Settings;
use crate::error::{Error, Stopped};
use crate::lock;
use crate::progress::{Event, Observer};

/// The lock as held by one operation.
pub struct Held {
    owner: Option<Owner>,
    /// What identifies our hold (`Acquire::Held`): the fence expects it.
    token: String,
    /// Set by the heartbeat when the lease is no longer ours.
    lost: Arc<AtomicBool>,
    /// When our lease was last renewed (taken, or a heartbeat that went through).
    renewed: Arc<std::sync::Mutex<Instant>>,
    lease: Duration,
    stop: Option<mpsc::Sender<()>>,
    beat: Option<std::thread::JoinHandle<()>>,
}

impl Held {
    /// Fails when the heartbeat found our lease taken over: stop before the next file.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.lost.load(Ordering::SeqCst) {
            Err(Error::LockLost)
        } else {
            Ok(())
        }
    }

    /// Before a file is recorded: when our lease has gone unrenewed for half its life, another
    /// machine may soon judge it dead, so check, inside the file's unit of work and locking
    /// the row where the database can (`fence_sql`, the dialect's), that the lock is still
    /// ours. A takeover then waits for our commit, or we roll back. Nothing is queried while
    /// the heartbeat keeps up.
    pub(crate) fn fence_check(&self, fence_sql: &str) -> Option<Check> {
        self.owner.as_ref()?;
        let stale = self
            .renewed
            .lock()
            .map_or(true, |t| t.elapsed() > self.lease / 2);
        Some(Check {
            query: Bound::new(fence_sql.to_owned(), Vec::new()),
            expect: self.token.clone(),
            needed: stale,
        })
    }

    /// Stop the heartbeat and release the lock and our lease.
    pub(crate) async fn release(mut self, db: &mut dyn Backend) -> Result<(), Error> {
        drop(self.stop.take());
        if let Some(beat) = self.beat.take() {
            let _ = beat.join();
        }
        if self.owner.is_none() {
            return Ok(());
        }
        let token = &self.token;
        crate::retry::on_conflict(
            crate::retry::CONFLICT_ATTEMPTS,
            DbError::is_retryable_conflict,
            async || lock::release(db, token).await,
        )
        .await
        .map_err(Error::db("releasing the migration lock"))
    }
}

/// Take over `st`'s lock when `verdict` says its holder is gone; our token when we won.
async fn take_over(
    db: &mut dyn Backend,
    owner: &Owner,
    ttl: i64,
    st: &LockStatus,
    verdict: &Verdict,
    obs: &mut dyn Observer,
) -> Result<Option<String>, Error> {
    let (Verdict::TakeOver(reason), Some(old)) = (verdict, &st.process_id) else {
        return Ok(None);
    };
    let session = st.session == HolderSession::Gone;
    match lock::take_over(db, owner, old, ttl, session).await {
        Ok(Some(token)) => {
            obs.event(Event::Warning(&format!(
                "took over the migration lock held by {} since {}: {reason}",
                st.holder(),
                st.locked_at.as_deref().unwrap_or("an unknown time")
            )));
            Ok(Some(token))
        }
        Ok(None) => Ok(None),
        Err(e) if e.is_retryable_conflict() || e.is_busy() => Ok(None),
        Err(e) => Err(Error::db("taking over the migration lock")(e)),
    }
}

fn seconds_i64(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)
}

/// Take the lock for `settings`' database through `db`.
pub(crate) async fn acquire(
    settings: &Settings,
    db: &mut dyn Backend,
    obs: &mut dyn Observer,
) -> Result<Held, Error> {
    let lost = Arc::new(AtomicBool::new(false));
    let owner = Owner::new();
    let ttl = seconds_i64(settings.lock_lease);
    let started = Instant::now();
    let mut announced = false;
    // What we last saw of the holder, for the message when we give up.
    let mut seen = LockStatus::default();
    let mut conflicted = false;
    let mut looks: u32 = 0;
    let token = loop {
        if crate::cancel::cancelled() {
            return Err(Error::Interrupted(Stopped::WaitingForLock));
        }
        let status = match lock::try_acquire(db, &owner, ttl).await {
            Ok(Acquire::Held(token)) => break token,
            Ok(Acquire::Busy(status)) => Some(*status),
            // Galera: another node took the row at the same moment (certification failure).
            // SQLite: the holder is writing a file and its write lock outlasted our busy
            // timeout. Either way someone is at work: keep waiting, as for a held row, and
            // within --lock-timeout like it.
            Err(e) if e.is_retryable_conflict() || e.is_busy() => {
                if e.is_retryable_conflict() {
                    conflicted = true;
                }
                None
            }
            Err(e) => return Err(Error::db("taking the migration lock")(e)),
        };
        let verdict = match &status {
            Some(st) => lock::judge(st, &owner.identity, lock::pid_alive),
            None => Verdict::Wait,
        };
        if let Some(st) = status {
            if let Some(token) = take_over(db, &owner, ttl, &st, &verdict, obs).await? {
                break token;
            }
            // The session lock we obtained is kept only by a holder.
            if st.session == HolderSession::Gone {
                let _ = db.release_session_lock().await;
            }
            // Another waiter won the take-over (look again soon), or it conflicted with a
            // write still open on the row (a Snowflake session killed inside a transaction
            // keeps it for hours): look again, but within --lock-timeout.
            if matches!(verdict, Verdict::TakeOver(_)) && started.elapsed() < settings.lock_timeout
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            seen = st;
        }
        // Said once, even when the first look took the whole --lock-timeout (a slow server):
        // who holds the lock is worth knowing either way.
        if !announced && seen.is_locked {
            announced = true;
            let heartbeat = seen.lease.as_ref().map_or_else(String::new, |l| {
                format!(", last heartbeat {:.0} s ago", l.heartbeat_age_seconds)
            });
            obs.event(Event::Info(&format!(
                "waiting up to {:.0} s for the migration lock held by {} since {}{heartbeat}...",
                settings.lock_timeout.as_secs_f64(),
                seen.holder(),
                seen.locked_at.as_deref().unwrap_or("an unknown time"),
            )));
        }
        let waited = started.elapsed();
        if waited >= settings.lock_timeout {
            return Err(Error::Locked {
                holder: seen.holder(),
                locked_at: seen.locked_at,
                waited_secs: waited.as_secs_f64(),
                foreign: verdict == Verdict::Foreign,
            });
        }
        let left = settings.lock_timeout.saturating_sub(waited);
        // A conflict is a race for a free row: try again soon. Where each look is a costly
        // job on a shared server (Spark: every statement reads the metastore, one call at a
        // time), many waiters looking often would slow the holder they wait for: they look
        // less and less often, up to every 5 s.
        looks += 1;
        let pause = if std::mem::take(&mut conflicted) {
            20
        } else if db.capabilities().compare_and_set {
            200
        } else {
            (500 * u64::from(looks)).min(5000)
        };
        tokio::time::sleep(left.min(Duration::from_millis(pause))).await;
    };
    let renewed = Arc::new(std::sync::Mutex::new(Instant::now()));
    let (stop, beat) = match heartbeat(settings, db.capabilities().shared, &token, &lost, &renewed)
    {
        Some((stop, beat)) => (Some(stop), Some(beat)),
        None => (None, None),
    };
    Ok(Held {
        owner: Some(owner),
        token,
        lost,
        renewed,
        lease: settings.lock_lease,
        stop,
        beat,
    })
}

/// Renew the lease every third of its life on a connection of its own (the operation's
/// connection is busy with the migration). A database no other process can open (in-memory
/// SQLite) needs none.
fn heartbeat(
    settings: &Settings,
    shared: bool,
    token: &str,
    lost: &Arc<AtomicBool>,
    renewed: &Arc<std::sync::Mutex<Instant>>,
) -> Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    if !shared {
        return None;
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let settings = settings.clone();
    let token = token.to_owned();
    let lost = Arc::clone(lost);
    let renewed = Arc::clone(renewed);
    let every = (settings.lock_lease / 3).max(Duration::from_millis(100));
    let beat = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let mut db: Option<Box<dyn Backend>> = None;
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if db.is_none() {
                    db = backend::connect(&settings.connect, OpenMode::ReadWrite)
                        .await
                        .ok();
                }
                let Some(conn) = db.as_mut() else { continue };
                match lock::heartbeat(conn.as_mut(), &token).await {
                    Ok(true) => {
                        if let Ok(mut t) = renewed.lock() {
                            *t = Instant::now();
                        }
                    }
                    Ok(false) => {
                        lost.store(true, Ordering::SeqCst);
                        break;
                    }
                    // Busy or disconnected: try again on the next beat, on a new connection
                    // if the old one broke.
                    Err(_) => {
                        if let Some(old) = db.take() {
                            db = conn_ok(old).await;
                        }
                    }
                }
            }
            if let Some(conn) = db {
                conn.close().await;
            }
        });
    });
    Some((stop, beat))
}

/// Keep a connection that still answers; drop one that does not.
async fn conn_ok(mut db: Box<dyn Backend>) -> Option<Box<dyn Backend>> {
    if db.ping().await.is_ok() {
        Some(db)
    } else {
        db.close().await;
        None
    }
}
