//! Reading migration files so that no read outlives a stop request. A file on a hung
//! network file system (or any `open` or `read` that never returns) would otherwise keep
//! the process, the migration lock and the lock's heartbeat alive after SIGINT/SIGTERM.
//! Every read runs on a thread of its own; the caller waits for it, checking for
//! cancellation every [`POLL`], and on a stop request returns [`Error::Interrupted`],
//! abandoning the reader: a detached thread, blocked until the process exits. Reads are
//! batched (one thread for a whole upgrade's files, a few for a thousand checksums), so this
//! costs a handful of thread starts per command. `migration/` knows nothing of it.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::check_cancelled;
use crate::error::Error;
use crate::error::Stopped;
use crate::migration::{self, MigrationError, MigrationFile, ParsedMigration, SplitRules};

/// How often a waiting caller looks for a stop request.
const POLL: Duration = Duration::from_millis(50);

/// The next value from `rx`, or `Interrupted` once a stop is requested while waiting.
fn receive<T>(rx: &Receiver<T>, thread: &mut Option<JoinHandle<()>>) -> Result<T, Error> {
    loop {
        match rx.recv_timeout(POLL) {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Timeout) => check_cancelled(Stopped::BeforeChanges)?,
            Err(RecvTimeoutError::Disconnected) => {
                // The reader ended without an answer: it panicked; so does the caller.
                if let Some(Err(panic)) = thread.take().map(JoinHandle::join) {
                    std::panic::resume_unwind(panic);
                }
                panic!("a file reader thread ended without a result");
            }
        }
    }
}

/// Work started on a thread of its own, whose result is collected later (or abandoned).
pub(super) struct Pending<T> {
    rx: Receiver<T>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Pending<T> {
    pub(super) fn start(work: impl FnOnce() -> T + Send + 'static) -> Pending<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let thread = std::thread::spawn(move || {
            // The caller may have given up waiting.
            let _ = tx.send(work());
        });
        Pending {
            rx,
            thread: Some(thread),
        }
    }

    /// The result, or `Interrupted` as soon as a stop is requested.
    pub(super) fn wait(mut self) -> Result<T, Error> {
        receive(&self.rx, &mut self.thread)
    }
}

/// `work` on a thread of its own, waited for until it ends or a stop is requested.
pub(super) fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    Pending::start(work).wait()
}

/// The legacy checksums of `files`, in order, read on a thread of their own and, when there
/// are enough of them, on every core (a no-op upgrade's main cost is validating a thousand
/// applied files); each thread takes a contiguous share, so `file_checksums` reuses each
/// folder's descriptor. Embedded files are checksummed from their bytes.
pub(super) fn checksums(files: Vec<MigrationFile>) -> Pending<Vec<Result<String, MigrationError>>> {
    Pending::start(move || {
        let refs: Vec<&MigrationFile> = files.iter().collect();
        let shares = if refs.len() < 64 { 1 } else { threads() };
        let share = refs.len().div_ceil(shares).max(1);
        let parts: Vec<&[&MigrationFile]> = refs.chunks(share).collect();
        par_map(&parts, |part| migration::migration_checksums(part))
            .into_iter()
            .flatten()
            .collect()
    })
}

/// How many threads bulk work may use.
fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8)
}

/// `f` over `items`, one thread per item (at most [`threads`] items: shares of bulk work).
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items[1..]
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        out.push(f(&items[0]));
        out.extend(handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }));
        out
    })
}

/// Files read and parsed in order on one thread of their own, one file ahead of the caller
/// (the next file is read while the current one runs).
pub(super) struct Parsed {
    rx: Receiver<Result<ParsedMigration, MigrationError>>,
    thread: Option<JoinHandle<()>>,
}

impl Parsed {
    pub(super) fn start(files: Vec<MigrationFile>, opts: SplitRules) -> Parsed {
        // A rendezvous channel: the reader waits with its next file until it is asked for.
        let (tx, rx) = mpsc::sync_channel(0);
        let thread = std::thread::spawn(move || {
            for file in files {
                if tx.send(migration::read_file(&file, opts)).is_err() {
                    break; // the caller stopped
                }
            }
        });
        Parsed {
            rx,
            thread: Some(thread),
        }
    }

    /// The next file, parsed, or `Interrupted` as soon as a stop is requested.
    pub(super) fn next(&mut self) -> Result<ParsedMigration, Error> {
        Ok(receive(&self.rx, &mut self.thread)??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_files_arrive_in_order_with_their_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("V1__a.sql");
        let b = dir.path().join("V2__b.sql");
        std::fs::write(&a, "SELECT 1;\n-- rollback\nSELECT 2;\n").expect("write");
        std::fs::write(&b, "SELECT 3;\nSELECT 4;\n").expect("write");
        let set = migration::scan(dir.path()).expect("scan");
        let (fa, fb) = (set.versioned[0].clone(), set.versioned[1].clone());
        let mut gone = fa.clone();
        gone.path = dir.path().join("gone.sql");
        let mut parsed = Parsed::start(vec![fa.clone(), gone, fb], SplitRules::default());
        let first = parsed.next().expect("a");
        assert_eq!(first.upgrade.len(), 1);
        assert_eq!(first.rollback.len(), 1);
        assert!(matches!(
            parsed.next(),
            Err(Error::Migration(MigrationError::Io { .. }))
        ));
        assert_eq!(parsed.next().expect("b").upgrade.len(), 2);
        let sums = checksums(vec![fa.clone(), fa]).wait().expect("checksums");
        assert_eq!(sums.len(), 2);
        assert_eq!(sums[0].as_ref().ok(), sums[1].as_ref().ok());
    }
}
