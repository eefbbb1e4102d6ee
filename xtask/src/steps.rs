//! Numbered, timed steps for the long commands (`setup`, `up`, `build-worker`): each step prints
//! `[n] what` when it starts and `[n] what: done in 12.3s` when it ends, so a slow first run shows
//! where its minutes went. A step may also run in the background (a `cargo install` while apt,
//! npm and the other builds proceed) and be waited for where its result is needed.
//!
//! Design decision: background work is a child process writing to its own log file, not a thread
//! sharing our terminal, so its output never interleaves with the foreground steps and a failure
//! shows the tail of exactly that log.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::{proc, Error, Result};

/// The step counter is process-wide: `up` runs setup and the builds in one numbered sequence.
static NEXT: AtomicUsize = AtomicUsize::new(1);

fn number() -> usize {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `12.3s` under a minute, `4m07s` above.
pub fn duration(started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02.0}s", (secs / 60.0).floor(), secs % 60.0)
    }
}

/// Runs `work` as the next numbered step.
pub fn step<T>(what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let n = number();
    println!("[{n}] {what}");
    let started = Instant::now();
    let outcome = work();
    match &outcome {
        Ok(_) => println!("[{n}] {what}: done in {}", duration(started)),
        Err(_) => println!("[{n}] {what}: FAILED after {}", duration(started)),
    }
    outcome
}

/// A command running in the background as a numbered step, its output in `log`.
pub struct Background {
    n: usize,
    what: String,
    child: Child,
    log: PathBuf,
    started: Instant,
    failure_code: &'static str,
}

impl Background {
    /// Starts `cmd` detached from our stdio (stdin closed, stdout and stderr to `log`).
    pub fn start(
        what: &str,
        cmd: &mut Command,
        log: &Path,
        failure_code: &'static str,
    ) -> Result<Background> {
        let n = number();
        if let Some(dir) = log.parent() {
            proc::mkdir(dir)?;
        }
        let file = fs::File::create(log)
            .map_err(|e| Error::io("log_open_failed", format!("creating {}", log.display()), e))?;
        let err_file = file
            .try_clone()
            .map_err(|e| Error::io("log_open_failed", format!("opening {}", log.display()), e))?;
        println!(
            "[{n}] {what} (in the background; log: {})\n    $ {}",
            log.display(),
            proc::describe(cmd)
        );
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err_file)
            .spawn()
            .map_err(|e| {
                Error::new(
                    failure_code,
                    format!("could not start `{}`: {e}", proc::describe(cmd)),
                )
            })?;
        Ok(Background {
            n,
            what: what.to_string(),
            child,
            log: log.to_path_buf(),
            started: Instant::now(),
            failure_code,
        })
    }

    /// Whether the command has already ended with a failure (it is not waited for).
    pub fn exited_unsuccessfully(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(status)) if !status.success())
    }

    /// Waits for the command to end; fails with the tail of its log when it did not succeed.
    pub fn finish(mut self) -> Result<()> {
        let waited = Instant::now();
        let status = self
            .child
            .wait()
            .map_err(|e| Error::io(self.failure_code, format!("waiting for {}", self.what), e))?;
        let (n, what) = (self.n, &self.what);
        if status.success() {
            println!(
                "[{n}] {what}: done in {} (of which {} waited for here)",
                duration(self.started),
                duration(waited)
            );
            Ok(())
        } else {
            println!("[{n}] {what}: FAILED after {}", duration(self.started));
            Err(Error::new(
                self.failure_code,
                format!("{what} failed ({status})\n{}", proc::tail(&self.log, 30)),
            ))
        }
    }
}

impl Drop for Background {
    /// An error elsewhere must not leave the install running unseen after we exit.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
