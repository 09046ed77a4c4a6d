//! Cancellation as a token carried with the operation. Whoever starts an operation keeps a
//! [`CancelToken`] (the CLI's signal handler only trips it); the operation checks it between
//! steps, and a driver registers how to stop the statement in flight (SQLite's interrupt
//! handle today; an HTTP database would send its cancel request). Two operations in one
//! process (a library user) each have their own, scoped to their task. A leaf: it imports
//! nothing of the crate.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type Hook = Box<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    next: AtomicU64,
    hooks: Mutex<Vec<(u64, Hook)>>,
}

/// A stop request for one operation; clones share it.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl CancelToken {
    #[must_use]
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Ask the operation to stop: every registered hook runs (the statement in flight
    /// fails), and every later check says so. Safe from any thread, including a signal
    /// handler's.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        if let Ok(hooks) = self.inner.hooks.lock() {
            for (_, hook) in hooks.iter() {
                hook();
            }
        }
    }

    /// True once [`CancelToken::cancel`] was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Run `hook` on cancellation while the returned guard lives (at once if already
    /// cancelled).
    #[must_use = "the hook is removed when the guard is dropped"]
    pub fn on_cancel(&self, hook: impl Fn() + Send + Sync + 'static) -> HookGuard {
        let id = self.inner.next.fetch_add(1, Ordering::SeqCst);
        if self.is_cancelled() {
            hook();
        }
        if let Ok(mut hooks) = self.inner.hooks.lock() {
            hooks.push((id, Box::new(hook)));
        }
        HookGuard {
            token: self.clone(),
            id,
        }
    }
}

/// Keeps a cancellation hook registered; dropping it removes the hook.
pub struct HookGuard {
    token: CancelToken,
    id: u64,
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        if let Ok(mut hooks) = self.token.inner.hooks.lock() {
            hooks.retain(|(id, _)| *id != self.id);
        }
    }
}

tokio::task_local! {
    /// The running operation's stop request: set by [`cancellable`] around each public
    /// operation from its observer's token, so two operations in one process never share one.
    static CANCEL: CancelToken;
}

/// Run an operation's body with `token` (its observer's) as its stop request.
pub(crate) async fn cancellable<T>(token: CancelToken, body: impl Future<Output = T>) -> T {
    CANCEL.scope(token, body).await
}

/// The running operation's stop request, if it runs under [`cancellable`].
pub(crate) fn current_token() -> Option<CancelToken> {
    CANCEL.try_with(CancelToken::clone).ok()
}

/// True once the running operation (if any) was asked to stop.
pub(crate) fn cancelled() -> bool {
    CANCEL.try_with(CancelToken::is_cancelled).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn cancel_token_runs_live_hooks_and_stays_cancelled() {
        let token = CancelToken::new();
        let other = CancelToken::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let guard = token.on_cancel(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let c = Arc::clone(&calls);
        drop(token.on_cancel(move || {
            c.fetch_add(100, Ordering::SeqCst);
        }));
        token.clone().cancel();
        assert!(token.is_cancelled());
        assert!(!other.is_cancelled(), "tokens are independent");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a dropped guard's hook does not run"
        );
        drop(guard);
        let c = Arc::clone(&calls);
        let _late = token.on_cancel(move || {
            c.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(calls.load(Ordering::SeqCst), 11, "a late hook runs at once");
    }
}
