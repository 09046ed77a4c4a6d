//! Trying again, written once: waiting for a database that is not up yet (`DB_MAX_RETRIES`,
//! used by the CLI before it connects and by the pool), and running a unit of work again when
//! the database aborted it for a conflict (a deadlock, a Galera certification failure). Every
//! loop here is bounded. A leaf: it imports only `env`.

use std::future::Future;
use std::time::Duration;

use crate::env::{self, EnvError, EnvVars};

/// How to wait for a database that is not up yet.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first (`DB_MAX_RETRIES`).
    pub max_retries: u32,
    /// Pause after a failed attempt (`DB_RETRY_DELAY`, seconds).
    pub delay: Duration,
    /// Double the pause after each attempt (`DB_RETRY_BACKOFF=exponential`)...
    pub exponential: bool,
    /// ...up to this (`DB_RETRY_MAX_DELAY`, seconds).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 0,
            delay: Duration::from_secs(2),
            exponential: false,
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The pause after failed attempt `n` (1-based).
    #[must_use]
    pub fn pause(&self, n: u32) -> Duration {
        if self.exponential {
            let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
            self.delay.saturating_mul(factor).min(self.max_delay)
        } else {
            self.delay
        }
    }

    /// The policy from `DB_MAX_RETRIES`, `DB_RETRY_DELAY`, `DB_RETRY_BACKOFF`,
    /// `DB_RETRY_MAX_DELAY`.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn from_env(vars: &EnvVars) -> Result<RetryPolicy, EnvError> {
        let d = RetryPolicy::default();
        Ok(RetryPolicy {
            max_retries: env::num(vars, "DB_MAX_RETRIES", d.max_retries, "a whole number")?,
            delay: env::secs(vars, "DB_RETRY_DELAY", d.delay.as_secs_f64())?,
            exponential: matches!(
                env::var(vars, "DB_RETRY_BACKOFF")
                    .map(str::to_ascii_lowercase)
                    .as_deref(),
                Some("exponential" | "exp" | "true" | "1")
            ),
            max_delay: env::secs(vars, "DB_RETRY_MAX_DELAY", d.max_delay.as_secs_f64())?,
        })
    }

    /// Attempts in all: the first and the retries.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.max_retries.saturating_add(1)
    }
}

/// One failed attempt while waiting, for whoever reports it.
#[derive(Debug)]
pub struct Failed<'a, E> {
    /// 1-based.
    pub number: u32,
    pub of: u32,
    pub error: &'a E,
    pub retry_in: Duration,
}

/// Call `attempt` until it succeeds, its error is not `transient`, or `policy` has no
/// attempts left; `on_retry` hears of every failure that will be retried. Returns the result
/// and the number of attempts made.
pub async fn wait_for<T, E, F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
    transient: impl Fn(&E) -> bool,
    mut on_retry: impl FnMut(Failed<'_, E>),
) -> (Result<T, E>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let total = policy.attempts();
    let mut n = 0;
    loop {
        n += 1;
        match attempt().await {
            Err(e) if n < total && transient(&e) => {
                let pause = policy.pause(n);
                on_retry(Failed {
                    number: n,
                    of: total,
                    error: &e,
                    retry_in: pause,
                });
                tokio::time::sleep(pause).await;
            }
            other => return (other, n),
        }
    }
}

/// How many times a unit of work aborted by a conflict is run in all, by default.
pub const CONFLICT_ATTEMPTS: u32 = 20;

/// Run `work` again (up to `attempts` times in all, with a short growing pause) while it
/// fails with an error that `conflict` says the database resolved by aborting it. `work`
/// must be a whole unit (a transaction from begin to commit).
///
/// # Errors
/// The last error, or the first that is not a conflict.
pub async fn on_conflict<T, E>(
    attempts: u32,
    conflict: impl Fn(&E) -> bool,
    mut work: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut n = 0;
    loop {
        n += 1;
        match work().await {
            Err(e) if n < attempts.max(1) && conflict(&e) => {
                tokio::time::sleep(Duration::from_millis(5 * u64::from(n.min(20)))).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_pause_is_capped() {
        let r = RetryPolicy {
            max_retries: 20,
            delay: Duration::from_secs(1),
            exponential: true,
            max_delay: Duration::from_secs(5),
        };
        let pauses: Vec<u64> = (1..=5).map(|n| r.pause(n).as_secs()).collect();
        assert_eq!(pauses, vec![1, 2, 4, 5, 5]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn wait_for_stops_at_the_policy_or_a_lasting_error() {
        let policy = RetryPolicy {
            max_retries: 3,
            delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let mut heard = Vec::new();
        let (r, n) = wait_for(
            &policy,
            || {
                calls += 1;
                async { Err::<(), _>("down") }
            },
            |_| true,
            |f| heard.push((f.number, f.of)),
        )
        .await;
        assert_eq!((r, n, calls), (Err("down"), 4, 4));
        assert_eq!(heard, vec![(1, 4), (2, 4), (3, 4)]);
        let (r, n) = wait_for(
            &policy,
            || async { Err::<(), _>("denied") },
            |_| false,
            |_| {},
        )
        .await;
        assert_eq!((r, n), (Err("denied"), 1), "a lasting error is not retried");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn on_conflict_is_bounded() {
        let mut calls = 0;
        let r = on_conflict(
            5,
            |e: &&str| *e == "deadlock",
            async || {
                calls += 1;
                Err::<(), _>("deadlock")
            },
        )
        .await;
        assert_eq!((r, calls), (Err("deadlock"), 5));
        let mut calls = 0;
        let r = on_conflict(
            5,
            |e: &&str| *e == "deadlock",
            async || {
                calls += 1;
                if calls < 3 {
                    Err("deadlock")
                } else {
                    Ok(calls)
                }
            },
        )
        .await;
        assert_eq!(r, Ok(3));
    }
}
