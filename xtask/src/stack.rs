//! The local stack: PostgreSQL 15 (own cluster under `.local/`), the `hybrid-data-api`, and the
//! Worker in `wrangler dev`; `up`, `down` and `dev`. The same `Stack` type, pointed at
//! `.local/test-<pid>/` with free ports, is the throwaway stack of `cargo xtask test`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::keys::{self, Keys, SigningKeys};
use crate::{build, http, migrate, proc, setup, signals, steps, Error, Result};

/// How long each service may take to answer after it was started.
const POSTGRES_READY: Duration = Duration::from_secs(60);
const DATA_API_READY: Duration = Duration::from_secs(60);
/// The first start of workerd compiles the module; on a busy machine that takes a while.
const WORKER_READY: Duration = Duration::from_secs(300);
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub postgres: u16,
    pub data_api: u16,
    pub worker: u16,
    /// wrangler's devtools port; None lets wrangler choose.
    pub inspector: Option<u16>,
}

impl Ports {
    /// Four distinct free ports, for a throwaway stack (tests, benchmarks).
    pub fn free() -> Result<Ports> {
        let mut picked: Vec<u16> = Vec::new();
        // Distinct: the OS may hand the same port out twice once the probe socket closes.
        while picked.len() < 4 {
            let p =
                http::free_port().map_err(|e| Error::io("no_free_port", "picking a port", e))?;
            if !picked.contains(&p) {
                picked.push(p);
            }
        }
        Ok(Ports {
            postgres: picked[0],
            data_api: picked[1],
            worker: picked[2],
            inspector: Some(picked[3]),
        })
    }
}

/// Supabase's local ports for PostgreSQL and the API, wrangler's default for the Worker.
pub const DEFAULT_PORTS: Ports = Ports {
    postgres: 54322,
    data_api: 54321,
    worker: 8787,
    inspector: None,
};

pub struct Stack {
    pub root: PathBuf,
    /// `.local/stack` for `up`, `.local/test-<pid>` for `test`.
    pub dir: PathBuf,
    pub ports: Ports,
    pub keys: Keys,
    /// ES256/RS256 key pairs; the data API serves their JWKS, the Worker fetches it.
    pub signing: SigningKeys,
    /// A test stack: durability off (faster), Worker variables from its own env file instead
    /// of the repository's `.dev.vars`, wrangler state inside `dir`.
    pub throwaway: bool,
    /// Where PostgreSQL's own files live (pgdata, socket dir, server log): `dir` when the
    /// `postgres` user can reach it, else a folder under the system temp dir. PostgreSQL refuses
    /// to run as root, and a checkout under e.g. /root is not searchable by `postgres`.
    pub pg_dir: PathBuf,
}

impl Stack {
    /// The `up` stack in `.local/stack/`, keeping its keys across runs.
    pub fn dev_stack(root: &Path) -> Result<Stack> {
        let dir = root.join(".local").join("stack");
        Stack::create(root, dir, DEFAULT_PORTS, false)
    }

    /// Creates the stack's directories and loads (or makes) its keys.
    pub fn create(root: &Path, dir: PathBuf, ports: Ports, throwaway: bool) -> Result<Stack> {
        let local = root.join(".local");
        for path in [&local, &dir] {
            proc::mkdir(path)?;
            // The postgres user must be able to pass through to pgdata/ even under umask 077.
            fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|e| {
                Error::io("chmod_failed", format!("chmod 755 {}", path.display()), e)
            })?;
        }
        let pg_dir = if proc::postgres_can_enter(&dir) {
            dir.clone()
        } else {
            let outside = postgres_dir_outside(&dir);
            println!(
                "postgres: the `postgres` user cannot enter {}; its files go to {}",
                dir.display(),
                outside.display()
            );
            proc::mkdir(&outside)?;
            proc::chown_to_postgres(&[&outside])?;
            outside
        };
        let stack = Stack {
            root: root.to_path_buf(),
            pg_dir,
            keys: keys::load_or_create(&dir.join("keys.env"))?,
            signing: keys::load_or_create_signing_keys(&dir)?,
            dir,
            ports,
            throwaway,
        };
        for sub in [stack.logs(), stack.pids(), stack.run_dir()] {
            proc::mkdir(&sub)?;
        }
        Ok(stack)
    }

    pub fn pgdata(&self) -> PathBuf {
        self.pg_dir.join("pgdata")
    }
    pub fn run_dir(&self) -> PathBuf {
        self.pg_dir.join("run")
    }
    /// The server log; written by the server itself, so it sits where `postgres` can write.
    pub fn postgres_log(&self) -> PathBuf {
        if self.pg_dir == self.dir {
            self.logs().join("postgres.log")
        } else {
            self.pg_dir.join("postgres.log")
        }
    }
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
    pub fn pids(&self) -> PathBuf {
        self.dir.join("pids")
    }
    /// As `supabase status` prints it (the password is ignored: the cluster trusts localhost).
    pub fn db_url(&self) -> String {
        format!(
            "postgresql://postgres:postgres@127.0.0.1:{}/postgres",
            self.ports.postgres
        )
    }
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.data_api)
    }
    pub fn worker_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.worker)
    }
    /// Where the data API serves the public signing keys (Supabase Auth's path).
    pub fn jwks_url(&self) -> String {
        format!("{}/auth/v1/.well-known/jwks.json", self.api_url())
    }

    /// The variables of `.local/stack.env` (docs/ARCHITECTURE.md), also given to test runners.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("API_URL", self.api_url()),
            ("DB_URL", self.db_url()),
            ("JWT_SECRET", self.keys.jwt_secret.clone()),
            ("ANON_KEY", self.keys.anon_key.clone()),
            ("SERVICE_ROLE_KEY", self.keys.service_role_key.clone()),
            ("WORKER_URL", self.worker_url()),
            (
                "JWT_ES256_PRIVATE_KEY_FILE",
                self.signing.es256_private_key.display().to_string(),
            ),
            ("JWT_ES256_KID", self.signing.es256_kid.clone()),
            (
                "JWT_RS256_PRIVATE_KEY_FILE",
                self.signing.rs256_private_key.display().to_string(),
            ),
            ("JWT_RS256_KID", self.signing.rs256_kid.clone()),
        ]
    }

    /// The Worker's variables (docs/ARCHITECTURE.md), as `.dev.vars` holds them.
    /// The variables the stack gives the Worker (wrangler's env file; plain workerd's text
    /// bindings in `bench --scale`).
    pub fn worker_bindings(&self) -> Vec<(&'static str, String)> {
        // A test stack's Worker reports its wasm memory on every answer (X-Wasm-Memory-Bytes),
        // which tests/e2e/tests/hardening.rs holds under its budget.
        let debug_memory = if self.throwaway { "1" } else { "0" };
        vec![
            ("DEBUG_MEMORY", debug_memory.to_string()),
            ("SUPABASE_URL", self.api_url()),
            ("SUPABASE_ANON_KEY", self.keys.anon_key.clone()),
            (
                "SUPABASE_SERVICE_ROLE_KEY",
                self.keys.service_role_key.clone(),
            ),
            ("SUPABASE_JWT_SECRET", self.keys.jwt_secret.clone()),
            ("SUPABASE_JWKS_URL", self.jwks_url()),
            ("JWT_AUD", "authenticated".to_string()),
        ]
    }

    fn worker_vars(&self) -> String {
        self.worker_bindings()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }

    pub fn write_env_file(&self, path: &Path) -> Result<()> {
        let text: String = self
            .env()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        fs::write(path, text)
            .map_err(|e| Error::io("env_write_failed", format!("writing {}", path.display()), e))
    }

    // ---- PostgreSQL ----

    fn pg_ctl(&self) -> Command {
        let mut cmd = proc::as_postgres(proc::pg_bin("pg_ctl"));
        cmd.arg("-D").arg(self.pgdata());
        cmd
    }

    fn postgres_running(&self) -> bool {
        self.pgdata().join("PG_VERSION").exists()
            && proc::probe(self.pg_ctl().arg("status")).is_some()
    }

    /// initdb on first use, start if not running, wait until it answers, then apply the
    /// bootstrap and pending migrations.
    pub fn start_database(&self) -> Result<()> {
        if !self.pgdata().join("PG_VERSION").exists() {
            self.init_cluster()?;
        }
        self.start_postgres()?;
        let db_url = self.db_url();
        migrate::run_file(
            &db_url,
            &self.root.join("dev").join("supabase-bootstrap.sql"),
        )?;
        migrate::apply(&self.root, &db_url)?;
        Ok(())
    }

    /// Starts the server unless it runs, and waits until it accepts connections.
    fn start_postgres(&self) -> Result<()> {
        if self.postgres_running() {
            println!("postgres: already running ({})", self.db_url());
        } else {
            self.ensure_port_free(self.ports.postgres, "PostgreSQL")?;
            let log = self.postgres_log();
            let mut start = self.pg_ctl();
            start
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"])
                // Own process group: Ctrl-C in the terminal must not stop the server under us.
                .process_group(0)
                .stdin(Stdio::null());
            if let Err(e) = proc::output(&mut start, "postgres_start_failed") {
                return Err(Error::new(
                    e.code,
                    format!("{}\n{}", e.message, proc::tail(&log, 30)),
                ));
            }
        }
        let ready = || {
            proc::probe(Command::new(proc::pg_bin("pg_isready")).args([
                "-q",
                "-U",
                "postgres",
                "-h",
                "127.0.0.1",
                "-p",
                &self.ports.postgres.to_string(),
            ]))
            .is_some()
        };
        wait_until(
            "PostgreSQL",
            POSTGRES_READY,
            None,
            &self.postgres_log(),
            ready,
        )
    }

    fn init_cluster(&self) -> Result<()> {
        let pgdata = self.pgdata();
        proc::mkdir(&pgdata)?;
        proc::chown_to_postgres(&[&pgdata, &self.run_dir(), &self.logs()])?;
        let mut initdb = proc::as_postgres(proc::pg_bin("initdb"));
        initdb.arg("-D").arg(&pgdata).args([
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        proc::output(&mut initdb, "initdb_failed")?;
        let mut conf = format!(
            "\n# cargo xtask: this cluster is reachable on 127.0.0.1 only\n\
             listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n",
            self.ports.postgres,
            self.run_dir().display()
        );
        if self.throwaway {
            // A test cluster is thrown away afterwards: durability only costs time.
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf_path = pgdata.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf_path).map_err(|e| {
            Error::io(
                "pg_conf_failed",
                format!("reading {}", conf_path.display()),
                e,
            )
        })?;
        text.push_str(&conf);
        fs::write(&conf_path, text).map_err(|e| {
            Error::io(
                "pg_conf_failed",
                format!("writing {}", conf_path.display()),
                e,
            )
        })
    }

    fn stop_postgres(&self) {
        if self.postgres_running() {
            let stopped = proc::output(
                self.pg_ctl().args(["-m", "fast", "-w", "stop"]),
                "postgres_stop_failed",
            );
            match stopped {
                Ok(_) => println!("postgres: stopped"),
                Err(e) => eprintln!("{e}"),
            }
        }
    }

    // ---- data API and Worker ----

    fn pid_file(&self, service: &str) -> PathBuf {
        self.pids().join(format!("{service}.pid"))
    }

    /// The pid of a service we started that is still running.
    fn running_pid(&self, service: &str) -> Option<u32> {
        proc::read_pid(&self.pid_file(service)).filter(|pid| proc::ours(*pid))
    }

    fn ensure_port_free(&self, port: u16, what: &str) -> Result<()> {
        if http::port_open(port) {
            return Err(Error::new(
                "port_taken",
                format!(
                    "127.0.0.1:{port} (for {what}) is already taken by a process this stack did \
                     not start; stop it (`ss -ltnp | grep {port}` shows which) and re-run"
                ),
            ));
        }
        Ok(())
    }

    pub fn data_api_running(&self) -> bool {
        self.running_pid("data-api").is_some()
            && http::get_status(&format!("{}/", self.api_url())) == Some(200)
    }

    pub fn start_data_api(&self, binary: &Path) -> Result<()> {
        if self.data_api_running() {
            println!("data API: already running ({})", self.api_url());
            return Ok(());
        }
        self.ensure_port_free(self.ports.data_api, "the data API")?;
        let log = self.logs().join("data-api.log");
        let mut cmd = Command::new(binary);
        cmd.current_dir(&self.root)
            .env(
                "DATA_API_DB_URL",
                format!(
                    "postgresql://authenticator@127.0.0.1:{}/postgres",
                    self.ports.postgres
                ),
            )
            .env(
                "DATA_API_LISTEN",
                format!("127.0.0.1:{}", self.ports.data_api),
            )
            .env("JWT_SECRET", &self.keys.jwt_secret)
            .env("ANON_KEY", &self.keys.anon_key)
            .env("SERVICE_ROLE_KEY", &self.keys.service_role_key)
            .env("DATA_API_JWKS_FILE", &self.signing.jwks_file)
            // Supabase's user tokens carry `aud: authenticated`; a token for another audience is
            // refused as there (one without `aud`, like the anon key, passes, as in PostgREST).
            .env("DATA_API_JWT_AUD", "authenticated");
        let pid = proc::spawn_service(&mut cmd, &log, &self.pid_file("data-api"))?;
        let url = format!("{}/", self.api_url());
        wait_until("the data API", DATA_API_READY, Some(pid), &log, || {
            http::get_status(&url) == Some(200)
        })
    }

    pub fn worker_running(&self) -> bool {
        self.running_pid("worker").is_some()
            && http::get_status(&format!("{}/health", self.worker_url())) == Some(200)
    }

    pub fn start_worker(&self) -> Result<()> {
        if self.worker_running() {
            println!("Worker: already running ({})", self.worker_url());
            return Ok(());
        }
        if !self.root.join("wrangler.toml").exists() {
            return Err(Error::new(
                "wrangler_toml_missing",
                format!(
                    "{} is missing: the Worker cannot start",
                    self.root.join("wrangler.toml").display()
                ),
            ));
        }
        self.ensure_port_free(self.ports.worker, "the Worker")?;
        let mut cmd = Command::new(self.root.join("node_modules/.bin/wrangler"));
        cmd.current_dir(&self.root)
            .args(["dev", "--ip", "127.0.0.1", "--port"])
            .arg(self.ports.worker.to_string())
            .arg("--show-interactive-dev-session=false")
            .arg("--test-scheduled")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
        if let Some(port) = self.ports.inspector {
            cmd.arg("--inspector-port").arg(port.to_string());
        }
        if self.throwaway {
            // wrangler reads .dev.vars only when no --env-file is given: the test stack's own
            // secrets never touch the developer's .dev.vars.
            let vars = self.dir.join("worker.env");
            fs::write(&vars, self.worker_vars()).map_err(|e| {
                Error::io("env_write_failed", format!("writing {}", vars.display()), e)
            })?;
            cmd.arg("--env-file").arg(&vars);
            cmd.arg("--persist-to").arg(self.dir.join("wrangler-state"));
        } else {
            let dev_vars = self.root.join(".dev.vars");
            fs::write(&dev_vars, self.worker_vars()).map_err(|e| {
                Error::io(
                    "env_write_failed",
                    format!("writing {}", dev_vars.display()),
                    e,
                )
            })?;
        }
        let log = self.logs().join("worker.log");
        let pid = proc::spawn_service(&mut cmd, &log, &self.pid_file("worker"))?;
        let url = format!("{}/health", self.worker_url());
        wait_until("the Worker", WORKER_READY, Some(pid), &log, || {
            http::get_status(&url) == Some(200)
        })
    }

    /// Stops every process this stack started: the Worker, the data API, then PostgreSQL.
    pub fn stop_all(&self) {
        for service in ["worker", "data-api"] {
            if let Some(pid) = self.running_pid(service) {
                proc::stop_group(pid, STOP_GRACE);
                println!("{service}: stopped (pid {pid})");
            }
            let _ = fs::remove_file(self.pid_file(service));
        }
        self.stop_postgres();
    }
}

impl Stack {
    // ---- faults: what the `faults` test stage (xtask/src/faults.rs) does to a running stack ----

    /// Crashes PostgreSQL: `pg_ctl stop -m immediate` (every backend quits at once, no
    /// checkpoint; the next start runs crash recovery).
    pub fn kill_postgres(&self) -> Result<()> {
        proc::output(
            self.pg_ctl().args(["-m", "immediate", "-w", "stop"]),
            "postgres_kill_failed",
        )
        .map(|_| println!("postgres: killed (pg_ctl stop -m immediate)"))
    }

    /// Starts PostgreSQL again after [`Stack::kill_postgres`] and waits until it answers (the
    /// cluster has its migrations already).
    pub fn restart_postgres(&self) -> Result<()> {
        self.start_postgres()
    }

    /// The data API's pid while it runs.
    pub fn data_api_pid(&self) -> Option<u32> {
        self.running_pid("data-api")
    }

    /// wrangler's pid (the Worker) while it runs.
    pub fn worker_pid(&self) -> Option<u32> {
        self.running_pid("worker")
    }

    /// SIGKILLs the data API (no graceful shutdown: in-flight requests die with their
    /// connections) and waits until it is gone.
    pub fn kill_data_api(&self) -> Result<()> {
        let pid = self
            .data_api_pid()
            .ok_or_else(|| Error::new("data_api_not_running", "the data API is not running"))?;
        // SAFETY: plain signal and wait calls on a process group and pid we started.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            // Reaps it when it is our child (started by this process); else returns at once.
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
        }
        let _ = fs::remove_file(self.pid_file("data-api"));
        println!("data API: killed (SIGKILL, pid {pid})");
        Ok(())
    }

    /// Kills the data API if it runs, then starts `binary` again and waits until it answers.
    pub fn restart_data_api(&self, binary: &Path) -> Result<()> {
        if self.data_api_pid().is_some() {
            self.kill_data_api()?;
        }
        self.start_data_api(binary)
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the data API: its port keeps accepting
    /// connections (the kernel completes the handshake) but nothing answers while frozen.
    pub fn freeze_data_api(&self, frozen: bool) -> Result<()> {
        let pid = self
            .data_api_pid()
            .ok_or_else(|| Error::new("data_api_not_running", "the data API is not running"))?;
        let signal = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: a plain signal to a pid we started.
        if unsafe { libc::kill(pid as libc::pid_t, signal) } != 0 {
            return Err(Error::new(
                "signal_failed",
                format!("kill -{signal} {pid}: {}", std::io::Error::last_os_error()),
            ));
        }
        Ok(())
    }
}

/// Polls `ready` until it holds, the service's process died, Ctrl-C, or `timeout`; on failure
/// the error carries the tail of the service's log.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    pid: Option<u32>,
    log: &Path,
    ready: impl Fn() -> bool,
) -> Result<()> {
    let started = Instant::now();
    loop {
        if ready() {
            println!(
                "{what}: ready after {:.1}s",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        let problem = if pid.is_some_and(|pid| !proc::alive(pid)) {
            Some("exited before it was ready")
        } else if started.elapsed() > timeout {
            Some("did not answer in time")
        } else if signals::interrupted() {
            Some("was interrupted while starting")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::new(
                "service_not_ready",
                format!(
                    "{what} {problem} ({}s limit)\n{}",
                    timeout.as_secs(),
                    proc::tail(log, 40)
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `cargo xtask up`
pub fn up(root: &Path) -> Result<Stack> {
    let started = Instant::now();
    // The wasm-bindgen CLI may still be compiling in the background: it is needed only after
    // the Worker's own wasm is built.
    let mut setup = setup::start(root)?;
    let stack = Stack::dev_stack(root)?;
    steps::step("PostgreSQL: start, apply migrations", || {
        stack.start_database()
    })?;
    if !stack.data_api_running() {
        setup.check()?;
        let binary = build::data_api(root, true)?;
        steps::step("data API: start", || stack.start_data_api(&binary))?;
    } else {
        println!("data API: already running ({})", stack.api_url());
    }
    if !stack.worker_running() {
        setup.check()?;
        build::worker_wasm(root)?;
        setup.finish()?;
        // wrangler refuses to start without the `[assets]` directory, so the console comes first.
        crate::console::build(root)?;
        build::worker_bundle(root)?;
        steps::step("Worker: start wrangler dev", || stack.start_worker())?;
    } else {
        setup.finish()?;
        println!("Worker: already running ({})", stack.worker_url());
    }
    let env_path = root.join(".local").join("stack.env");
    stack.write_env_file(&env_path)?;
    println!(
        "\nstack is up; its URLs and keys are in {}:",
        env_path.display()
    );
    for (name, value) in stack.env() {
        if name.ends_with("_URL") {
            println!("  {name}={value}");
        }
    }
    println!(
        "logs: {}   stop with: cargo xtask down",
        stack.logs().display()
    );
    println!("cargo xtask up took {}", steps::duration(started));
    Ok(stack)
}

/// `cargo xtask down`
pub fn down(root: &Path) -> Result<()> {
    let dir = root.join(".local").join("stack");
    if !dir.exists() {
        println!("nothing to stop: {} does not exist", dir.display());
        return Ok(());
    }
    Stack::dev_stack(root)?.stop_all();
    println!("stack stopped; data kept in {}", dir.display());
    Ok(())
}

/// `cargo xtask dev`: up, follow the logs, down on Ctrl-C.
pub fn dev(root: &Path) -> Result<()> {
    signals::install();
    let stack = up(root)?;
    println!("following logs; Ctrl-C stops the stack");
    let logs: Vec<PathBuf> = ["postgres", "data-api", "worker"]
        .iter()
        .map(|name| stack.logs().join(format!("{name}.log")))
        .collect();
    let mut tail = Command::new("tail")
        .args(["-n", "20", "-F"])
        .args(&logs)
        .spawn()
        .map_err(|e| Error::new("tail_failed", format!("could not start tail: {e}")))?;
    while !signals::interrupted() {
        if let Ok(Some(_)) = tail.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = tail.kill();
    let _ = tail.wait();
    println!();
    stack.stop_all();
    Ok(())
}

/// A stable folder outside the checkout for PostgreSQL's files, one per stack directory.
fn postgres_dir_outside(stack_dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    stack_dir.hash(&mut hasher);
    std::env::temp_dir().join(format!("hybrid-store-pg-{:016x}", hasher.finish()))
}
