//! The command line: argument parsing and every byte printed by the program.

/// Run the CLI; returns the process exit code.
#[must_use]
pub fn run() -> i32 {
    0
}
