//! Progress of an operation for whoever started it, and where its stop request comes from.
//! Nothing here prints.

use crate::cancel::CancelToken;

/// Progress of a long operation, for whoever shows it.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A message the original prints too ("Starting migrations...").
    Info(&'a str),
    /// Something worth a warning that does not stop the run.
    Warning(&'a str),
    /// File `index` (1-based) of `total` is starting.
    FileStart {
        filename: &'a str,
        index: usize,
        total: usize,
    },
    /// A file finished (applied or rolled back).
    FileDone {
        filename: &'a str,
        rollback: bool,
        duration_ms: f64,
    },
}

/// Whoever started an operation: hears its progress, and holds its stop request.
pub trait Observer {
    fn event(&mut self, event: Event<'_>);

    /// The operation's stop request: the caller keeps a clone and calls
    /// [`CancelToken::cancel`] to stop it (the statement in progress fails, its file's
    /// transaction rolls back, a file being read is abandoned, no further file starts, the
    /// lock is released, and the operation fails with `Error::Interrupted`). By default,
    /// an operation nobody can stop.
    fn cancel_token(&self) -> CancelToken {
        CancelToken::new()
    }
}

/// An observer that ignores everything (library use).
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _event: Event<'_>) {}
}
