//! Running external commands: echo them, check their status, run them as the `postgres` user,
//! start long-lived services in their own process group and stop them again.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// PostgreSQL 15's server binaries (Debian/Ubuntu layout).
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

pub fn pg_bin(name: &str) -> PathBuf {
    Path::new(PG_BIN).join(name)
}

/// True when this process runs as root (then PostgreSQL must run as `postgres`).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program`, run as the `postgres` user when we are root (initdb and postgres refuse root),
/// or directly as ourselves otherwise.
pub fn as_postgres(program: impl AsRef<Path>) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program.as_ref());
        cmd
    } else {
        Command::new(program.as_ref())
    }
}

/// A command line as a person would type it, for logs and error messages.
pub fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Runs `cmd` with inherited stdio; fails with `code` when it cannot start or exits non-zero.
pub fn run(cmd: &mut Command, code: &'static str) -> Result<()> {
    println!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| Error::new(code, format!("could not start `{}`: {e}", describe(cmd))))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(
            code,
            format!("`{}` failed ({status})", describe(cmd)),
        ))
    }
}

/// Runs `cmd` quietly and returns its stdout; stderr is included in the error on failure.
pub fn output(cmd: &mut Command, code: &'static str) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(code, format!("could not start `{}`: {e}", describe(cmd))))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::new(
            code,
            format!(
                "`{}` failed ({}): {}",
                describe(cmd),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    }
}

/// Whether `program --version`-style probing succeeds; used to find installed tools.
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path)
        .map_err(|e| Error::io("mkdir_failed", format!("creating {}", path.display()), e))
}

/// Hands `paths` to the `postgres` user when we are root, so the server can write there.
pub fn chown_to_postgres(paths: &[&Path]) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let mut cmd = Command::new("chown");
    cmd.arg("-R").arg("postgres:postgres").args(paths);
    output(&mut cmd, "chown_failed").map(|_| ())
}

/// Whether the `postgres` user can reach `dir` (every parent must be searchable by it).
pub fn postgres_can_enter(dir: &Path) -> bool {
    if !is_root() {
        return true;
    }
    Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Starts a long-lived service detached from our terminal: its own process group (so Ctrl-C in
/// the terminal does not reach it and `stop_group` can end it with all its children), stdin
/// closed, stdout and stderr appended to `log`, its pid written to `pid_file`.
pub fn spawn_service(cmd: &mut Command, log: &Path, pid_file: &Path) -> Result<u32> {
    let open_log = || {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::io("log_open_failed", format!("opening {}", log.display()), e))
    };
    println!("$ {}  (log: {})", describe(cmd), log.display());
    let child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(open_log()?)
        .stderr(open_log()?)
        .spawn()
        .map_err(|e| {
            Error::new(
                "service_start_failed",
                format!("could not start `{}`: {e}", describe(cmd)),
            )
        })?;
    let pid = child.id();
    // The service outlives this process (`up` exits and leaves it running); liveness is checked
    // through /proc and the pid file, not the Child handle.
    drop(child);
    fs::write(pid_file, pid.to_string()).map_err(|e| {
        Error::io(
            "pid_write_failed",
            format!("writing {}", pid_file.display()),
            e,
        )
    })?;
    Ok(pid)
}

/// Reads a pid file written by `spawn_service`; None when absent or unreadable.
pub fn read_pid(pid_file: &Path) -> Option<u32> {
    fs::read_to_string(pid_file).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live process (a zombie left for its parent to reap counts as gone).
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether `pid` is alive and runs as our user (a recycled pid of another user's process is
/// not ours to signal).
pub fn ours(pid: u32) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    alive(pid)
        && fs::metadata(format!("/proc/{pid}"))
            .map(|m| m.uid() == me)
            .unwrap_or(false)
}

/// Ends the process group led by `pid`: SIGTERM, then SIGKILL if it has not gone after `grace`.
pub fn stop_group(pid: u32, grace: Duration) {
    let pgid = pid as libc::pid_t;
    // SAFETY: kill with a negative pid signals that process group; no memory is involved.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Children of the group (e.g. workerd under wrangler) may outlive the leader: end them too.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// The last `lines` lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    format!(
        "--- last {} lines of {} ---\n{}",
        all.len() - start,
        path.display(),
        all[start..].join("\n")
    )
}
