//! `cargo xtask test`'s `faults` stage (issue 9): what the service does when its parts fail
//! under it. On a throwaway stack of its own (`<test dir>/faults/`, free ports), so killing
//! PostgreSQL or the data API never disturbs another stage:
//!
//! 1. the data API, then PostgreSQL, killed in the middle of a 20 MB CSV append: the caller gets
//!    502 `upstream_unavailable`, no row of it is visible after the restart, and a retry with the
//!    same `Idempotency-Key` stores it exactly once (a replay after that stores nothing);
//! 2. PostgreSQL crashed and restarted while reads run in a loop: every read answers 200 or a
//!    clean 5xx JSON error (none hangs), and reads recover without restarting the data API or
//!    the Worker;
//! 3. a bounded load run (`wrk`, 8 connections, 30 s of `GET /api/data/{id}?limit=50`) while a
//!    20 MB upload runs for another tenant: 0 errors; p50/p99 and req/s are printed, never
//!    asserted;
//! 4. the data API frozen (`SIGSTOP`): reads answer 504 `upstream_timeout` after the Worker's
//!    time limit instead of hanging, the Worker keeps serving, and after `SIGCONT` reads work.
//!
//! Design decision: every request goes through `curl` (one process per request), not the
//! blocking ureq client of `http.rs`: an upload cut short is answered *before* its body has been
//! sent, and curl reads such an early answer and stops sending where a blocking client only sees
//! a broken pipe. The waits poll for a state (rows staged, a 200 again) with a deadline; none is
//! a fixed sleep standing in for readiness.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::stack::{Ports, Stack};
use crate::{build, migrate, proc, Error, Result};

/// The size of each generated upload (CSV, about 290,000 rows).
const UPLOAD_BYTES: usize = 20_000_000;
/// Rows of the small clients the reads use; a page is [`PAGE`] of them.
const READ_ROWS: usize = 60;
const PAGE: usize = 50;
/// The Worker's limit for one data API call (`src/db/fetch.rs`, `CALL_TIMEOUT`).
const WORKER_CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest a whole 20 MB upload may take on a busy 2-core machine before the test gives up.
const UPLOAD_DEADLINE: Duration = Duration::from_secs(600);
/// How long a stale in-progress claim may hold a retry off: begin_upload treats a pending
/// upload idle for 30 s as abandoned; the rest is for a slow machine.
const RETRY_DEADLINE: Duration = Duration::from_secs(120);
/// Longest any single read may take before it counts as hanging.
const READ_DEADLINE: Duration = Duration::from_secs(45);
const LOAD_SECONDS: u32 = 30;
const LOAD_CONNECTIONS: u32 = 8;
const POLL: Duration = Duration::from_millis(250);

fn failed(message: impl Into<String>) -> Error {
    Error::new("fault_test_failed", message)
}

/// The stage: builds what is missing, starts the stack, runs the four tests (each even when an
/// earlier one failed, after putting the stack back together) and prints their outcomes.
pub fn run(root: &Path, parent: &Path, build_worker: bool) -> Result<Option<String>> {
    let started = Instant::now();
    let binary = build::data_api(root, false)?;
    if build_worker {
        build::worker(root)?;
    }
    let stack = Stack::create(root, parent.join("faults"), Ports::free()?, true)?;
    let _down = Down(&stack);
    stack.start_database()?;
    // A test cluster commits asynchronously (xtask/src/stack.rs), so a crash may lose the last
    // ~0.6 s of acknowledged commits — a client created just before the kill would vanish.
    // Crash tests need what production has: a commit acknowledged is a commit kept.
    scalar(&stack, "alter system set synchronous_commit = on")?;
    scalar(&stack, "select pg_reload_conf()")?;
    stack.start_data_api(&binary)?;
    stack.start_worker()?;
    let http = Http::new(&stack)?;
    let upload = stack.dir.join("upload-20mb.csv");
    let rows = write_csv(&upload, UPLOAD_BYTES)?;
    println!(
        "faults: {} ({} bytes, {rows} rows)",
        upload.display(),
        UPLOAD_BYTES
    );
    let file = Upload {
        path: &upload,
        rows,
    };

    type Test<'a> = (&'static str, Box<dyn Fn() -> Result<String> + 'a>);
    let mut tests: Vec<Test> = vec![
        (
            "upload",
            Box::new(|| killed_upload(&stack, &http, &binary, &file)),
        ),
        ("reads", Box::new(|| reads_across_restart(&stack, &http))),
        ("load", Box::new(|| load_run(&stack, &http, &file))),
        ("frozen", Box::new(|| frozen_data_api(&stack, &http))),
    ];
    // `FAULTS=load,frozen cargo xtask test --only faults`: just those (when working on one).
    if let Ok(only) = std::env::var("FAULTS") {
        tests.retain(|(name, _)| only.split(',').any(|o| o.trim() == *name));
    }
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for (name, test) in &tests {
        println!("\n--- faults: {name}");
        let test_started = Instant::now();
        match test() {
            Ok(outcome) => outcomes.push(format!(
                "{name} ({:.0}s): {outcome}",
                test_started.elapsed().as_secs_f64()
            )),
            Err(e) => {
                eprintln!("{e}");
                failures.push(format!("{name}: {}", e.message));
                outcomes.push(format!("{name}: FAILED"));
                repair(&stack, &binary);
            }
        }
    }
    println!("\nfaults: outcomes");
    for line in &outcomes {
        println!("  {line}");
    }
    println!(
        "  stage took {:.0}s (stack start included)",
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        Ok(None)
    } else {
        Err(failed(format!(
            "{} of {} fault tests failed:\n  {}",
            failures.len(),
            tests.len(),
            failures.join("\n  ")
        )))
    }
}

/// Stops the faults stack however the stage ends; the parent test dir's teardown decides
/// about the logs.
struct Down<'a>(&'a Stack);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self.0.freeze_data_api(false);
        self.0.stop_all();
        let _ = fs::remove_dir_all(self.0.pgdata());
        if self.0.pg_dir != self.0.dir {
            let _ = fs::remove_dir_all(&self.0.pg_dir);
        }
    }
}

/// After a failed test: whatever it left killed or frozen runs again, so the next test starts
/// from a whole stack.
fn repair(stack: &Stack, binary: &Path) {
    let _ = stack.freeze_data_api(false);
    if let Err(e) = stack.restart_postgres() {
        eprintln!("faults: PostgreSQL did not come back: {e}");
    }
    if !stack.data_api_running() {
        if let Err(e) = stack.restart_data_api(binary) {
            eprintln!("faults: the data API did not come back: {e}");
        }
    }
}

// ---- HTTP through curl ----------------------------------------------------------------------

/// curl against the faults stack's Worker; answers go to numbered files in `<stack>/curl/`.
struct Http {
    dir: PathBuf,
    base: String,
    next: AtomicU32,
    service_key: String,
}

enum Body<'a> {
    Empty,
    Json(&'a Value),
    /// A raw CSV file, sent as `text/csv` with its length (as a browser sends a file).
    Csv(&'a Path),
}

/// A request in flight.
struct Call {
    child: Child,
    head: PathBuf,
    body: PathBuf,
    started: Instant,
}

struct Answer {
    /// 0 when no HTTP answer came (refused, reset, curl's --max-time).
    status: u16,
    head: String,
    body: Vec<u8>,
    secs: f64,
    /// curl's own complaint, when it had one.
    error: String,
}

impl Http {
    fn new(stack: &Stack) -> Result<Http> {
        let dir = stack.dir.join("curl");
        proc::mkdir(&dir)?;
        Ok(Http {
            dir,
            base: stack.worker_url(),
            next: AtomicU32::new(0),
            service_key: stack.keys.service_role_key.clone(),
        })
    }

    fn start(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
        max_time: Duration,
    ) -> Result<Call> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let file = |ext: &str| self.dir.join(format!("{n}.{ext}"));
        let (head, answer) = (file("head"), file("body"));
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-X", method, "-w", "%{http_code}"])
            .arg("--max-time")
            .arg(max_time.as_secs().to_string())
            .arg("-D")
            .arg(&head)
            .arg("-o")
            .arg(&answer)
            // No `Expect: 100-continue` round trip before a large body.
            .args(["-H", "Expect:"]);
        for (name, value) in headers {
            cmd.arg("-H").arg(format!("{name}: {value}"));
        }
        match body {
            Body::Empty => {}
            Body::Json(value) => {
                let sent = file("json");
                fs::write(&sent, value.to_string())
                    .map_err(|e| Error::io("fault_test_failed", "writing a request body", e))?;
                cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
                    .arg(format!("@{}", sent.display()));
            }
            Body::Csv(path) => {
                cmd.args(["-H", "Content-Type: text/csv", "--data-binary"])
                    .arg(format!("@{}", path.display()));
            }
        }
        cmd.arg(format!("{}{path}", self.base));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("could not start curl: {e}")))?;
        Ok(Call {
            child,
            head,
            body: answer,
            started: Instant::now(),
        })
    }

    /// A client with [`READ_ROWS`] rows in table `orders` and a password, created through the
    /// Worker; returns its id and a login token.
    fn new_client(&self, name: &str) -> Result<(String, String)> {
        let email = format!("{name}-{}@faults.example", std::process::id());
        let password = format!("pw-{name}-{}", std::process::id());
        let rows: Vec<Value> = (0..READ_ROWS)
            .map(|i| {
                json!({"order_id": format!("SEED-{i:03}"), "region": "North", "quantity": i,
                       "unit_price": 1.5, "order_date": "2024-01-01", "shipped": true,
                       "note": "seed"})
            })
            .collect();
        let service = format!("Bearer {}", self.service_key);
        let created = self
            .start(
                "POST",
                "/api/superadmin/clients",
                &[("Authorization", &service)],
                Body::Json(
                    &json!({"company_name": name, "email": email, "password": password,
                               "table_name": "orders", "data": rows}),
                ),
                READ_DEADLINE,
            )?
            .finish()?;
        let id = created.json()["client"]["client_id"]
            .as_str()
            .filter(|_| created.status == 201)
            .ok_or_else(|| failed(format!("creating client {name}: {}", created.describe())))?
            .to_string();
        let login = self
            .start(
                "POST",
                "/api/auth/login",
                &[],
                Body::Json(&json!({"email": email, "password": password})),
                READ_DEADLINE,
            )?
            .finish()?;
        let token = login.json()["access_token"]
            .as_str()
            .filter(|_| login.status == 200)
            .ok_or_else(|| failed(format!("logging in as {name}: {}", login.describe())))?
            .to_string();
        Ok((id, token))
    }
}

impl Call {
    fn finish(mut self) -> Result<Answer> {
        let mut stdout = String::new();
        let mut stderr = String::new();
        use std::io::Read;
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        self.child
            .wait()
            .map_err(|e| failed(format!("waiting for curl: {e}")))?;
        let answer = Answer {
            status: stdout.trim().parse().unwrap_or(0),
            head: fs::read_to_string(&self.head).unwrap_or_default(),
            body: fs::read(&self.body).unwrap_or_default(),
            secs: self.started.elapsed().as_secs_f64(),
            error: stderr.trim().to_string(),
        };
        let _ = fs::remove_file(&self.head);
        let _ = fs::remove_file(&self.body);
        Ok(answer)
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The error code of a JSON error body.
    fn code(&self) -> Option<String> {
        self.json()["code"].as_str().map(str::to_string)
    }

    /// A header of the final answer (curl writes interim ones first).
    fn header(&self, name: &str) -> Option<String> {
        let last = self
            .head
            .split("\r\n\r\n")
            .filter(|b| !b.trim().is_empty())
            .last()?;
        last.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// A 5xx whose body is our JSON error with a code (not a proxy page, not wrangler's text).
    fn clean_5xx(&self) -> bool {
        (500..600).contains(&self.status) && self.code().is_some()
    }

    fn describe(&self) -> String {
        if self.status == 0 {
            return format!("no HTTP answer after {:.1}s ({})", self.secs, self.error);
        }
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]);
        format!("HTTP {} after {:.1}s: {text}", self.status, self.secs)
    }
}

// ---- the database, as the superuser sees it -------------------------------------------------

fn scalar(stack: &Stack, sql: &str) -> Result<String> {
    proc::output(
        migrate::psql(&stack.db_url()).args(["-At", "-c", sql]),
        "fault_test_sql_failed",
    )
    .map(|out| out.trim().to_string())
}

fn stored_rows(stack: &Stack, client: &str, table: &str) -> Result<u64> {
    let n = scalar(
        stack,
        &format!(
            "select count(*) from public.client_data \
             where client_id = '{client}' and table_name = '{table}'"
        ),
    )?;
    n.parse()
        .map_err(|_| failed(format!("count of {table}: `{n}`")))
}

/// Rows staged so far by the client's pending upload (0 before it began).
fn rows_staged(stack: &Stack, client: &str) -> Result<u64> {
    let n = scalar(
        stack,
        &format!(
            "select coalesce(max(rows_staged), 0) from staging.uploads \
             where client_id = '{client}' and status = 'pending'"
        ),
    )?;
    n.parse().map_err(|_| failed(format!("rows staged: `{n}`")))
}

/// Polls `done` every [`POLL`] until it holds or `deadline` passes (then fails with `what`).
fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<f64> {
    let started = Instant::now();
    loop {
        if done()? {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > deadline || crate::signals::interrupted() {
            return Err(failed(format!(
                "{what}: not within {}s",
                deadline.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

// ---- the upload file ------------------------------------------------------------------------

struct Upload<'a> {
    path: &'a Path,
    rows: u64,
}

/// Writes a deterministic CSV of about `bytes` bytes (orders: ids, regions, SKUs, quantities,
/// prices, dates, yes/no, a note) and returns its data rows.
fn write_csv(path: &Path, bytes: usize) -> Result<u64> {
    const REGIONS: [&str; 6] = ["North", "South", "East", "West", "Central", "Overseas"];
    const NOTES: [&str; 4] = [
        "",
        "gift wrap",
        "call before delivery",
        "fragile - handle with care",
    ];
    let mut text = String::with_capacity(bytes + 200);
    text.push_str("order_id,region,sku,quantity,unit_price,order_date,shipped,note\n");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rows = 0u64;
    while text.len() < bytes {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = seed >> 33;
        text.push_str(&format!(
            "ORD-{rows:07},{},SKU-{:04},{},{}.{:02},2024-{:02}-{:02},{},{}\n",
            REGIONS[(r % 6) as usize],
            r % 9973,
            r % 50 + 1,
            r % 500,
            r % 100,
            r % 12 + 1,
            r % 28 + 1,
            if r.is_multiple_of(3) { "no" } else { "yes" },
            NOTES[(r % 4) as usize],
        ));
        rows += 1;
    }
    let mut file = fs::File::create(path).map_err(|e| {
        Error::io(
            "fault_test_failed",
            format!("creating {}", path.display()),
            e,
        )
    })?;
    file.write_all(text.as_bytes()).map_err(|e| {
        Error::io(
            "fault_test_failed",
            format!("writing {}", path.display()),
            e,
        )
    })?;
    Ok(rows)
}

/// Starts appending `file` to table `bulk` of `client` with `key`.
fn start_upload(http: &Http, client: &str, token: &str, key: &str, file: &Upload) -> Result<Call> {
    let bearer = format!("Bearer {token}");
    http.start(
        "POST",
        &format!("/api/data/{client}?table=bulk"),
        &[("Authorization", &bearer), ("Idempotency-Key", key)],
        Body::Csv(file.path),
        UPLOAD_DEADLINE,
    )
}

// ---- 1. the data API and PostgreSQL killed mid-upload ---------------------------------------

fn killed_upload(stack: &Stack, http: &Http, binary: &Path, file: &Upload) -> Result<String> {
    let (client, token) = http.new_client("faults-upload")?;
    let key = format!("faults-killed-{}", std::process::id());
    let mut upload = start_upload(http, &client, &token, &key, file)?;
    // Mid-way: a third of the rows staged (each batch is one committed transaction).
    let mut staged = 0;
    wait_for("a third of the upload staged", UPLOAD_DEADLINE, || {
        if !upload.running() {
            return Err(failed("the upload ended before the kill"));
        }
        staged = rows_staged(stack, &client)?;
        Ok(staged >= file.rows / 3)
    })?;
    stack.kill_data_api()?;
    stack.kill_postgres()?;
    let answer = upload.finish()?;
    println!("killed upload answered {}", answer.describe());
    if answer.status != 502 || answer.code().as_deref() != Some("upstream_unavailable") {
        return Err(failed(format!(
            "the upload cut off by the kill (after {staged} rows staged) answered {}; \
             expected 502 upstream_unavailable",
            answer.describe()
        )));
    }
    stack.restart_postgres()?;
    stack.restart_data_api(binary)?;
    let visible = stored_rows(stack, &client, "bulk")?;
    let seed = stored_rows(stack, &client, "orders")?;
    if visible != 0 || seed != READ_ROWS as u64 {
        return Err(failed(format!(
            "after the restart {visible} rows of the cut-off upload are visible (and {seed} of \
             the client's {READ_ROWS} seed rows)"
        )));
    }
    // The retry: the cut-off upload's claim is still pending; begin_upload takes it over once it
    // has been idle 30 s, until then it answers 409 idempotency_in_progress.
    let retried = Instant::now();
    let mut in_progress = 0;
    let (stored, claim_held) = loop {
        let attempt = retried.elapsed().as_secs_f64();
        let answer = start_upload(http, &client, &token, &key, file)?.finish()?;
        match (answer.status, answer.code().as_deref()) {
            (200, _) => break (answer, attempt),
            (409, Some("idempotency_in_progress")) if retried.elapsed() < RETRY_DEADLINE => {
                in_progress += 1;
                if answer.header("Retry-After").is_none() {
                    return Err(failed("409 idempotency_in_progress without Retry-After"));
                }
                std::thread::sleep(Duration::from_secs(2));
            }
            _ => {
                return Err(failed(format!(
                    "the retry with the same Idempotency-Key answered {}",
                    answer.describe()
                )))
            }
        }
    };
    let waited = retried.elapsed().as_secs_f64();
    let answered = stored.json()["rows_stored"].as_u64().unwrap_or(0);
    let in_db = stored_rows(stack, &client, "bulk")?;
    if answered != file.rows || in_db != file.rows {
        return Err(failed(format!(
            "the retry answered rows_stored {answered} and the table holds {in_db}; the file \
             has {} rows",
            file.rows
        )));
    }
    // Once more with the same key: the stored answer, nothing stored again.
    let replay = start_upload(http, &client, &token, &key, file)?.finish()?;
    let after = stored_rows(stack, &client, "bulk")?;
    if replay.status != 200
        || replay.header("Idempotent-Replayed").as_deref() != Some("true")
        || after != file.rows
    {
        return Err(failed(format!(
            "a replay of the stored upload answered {} (Idempotent-Replayed: {:?}); the table \
             holds {after} rows",
            replay.describe(),
            replay.header("Idempotent-Replayed")
        )));
    }
    Ok(format!(
        "killed after {staged} of {} rows staged: 502 upstream_unavailable; 0 rows visible after \
         the restart; retries met {in_progress}× 409 idempotency_in_progress (the stale claim) \
         for {claim_held:.0}s, then one stored {} rows once ({waited:.0}s after the restart); a \
         replay stored nothing",
        file.rows, file.rows
    ))
}

// ---- 2. PostgreSQL restarted under a read loop ----------------------------------------------

#[derive(Default)]
struct ReadCounts {
    ok_before: u32,
    failed_during: u32,
    ok_after: u32,
    /// Answers that were neither a full page nor a clean JSON 5xx, or no answer at all.
    bad: Vec<String>,
    slowest_failure: f64,
    /// `status code` of the failures, counted.
    failures: std::collections::BTreeMap<String, u32>,
}

fn read_once(http: &Http, path: &str, bearer: &str) -> Result<Answer> {
    http.start(
        "GET",
        path,
        &[("Authorization", bearer)],
        Body::Empty,
        READ_DEADLINE,
    )?
    .finish()
}

fn full_page(answer: &Answer) -> bool {
    answer.status == 200 && answer.json()["data"].as_array().map(Vec::len) == Some(PAGE)
}

fn reads_across_restart(stack: &Stack, http: &Http) -> Result<String> {
    let (client, token) = http.new_client("faults-reads")?;
    let bearer = format!("Bearer {token}");
    let path = format!("/api/data/{client}?limit={PAGE}");
    let counts = Mutex::new(ReadCounts::default());
    // 0: before the crash, 1: PostgreSQL killed, 2: PostgreSQL answering again.
    let phase = AtomicU32::new(0);
    let stop = AtomicBool::new(false);
    // A count, or the first answer that was neither a page nor a clean 5xx (fails the wait).
    let count = |f: &dyn Fn(&ReadCounts) -> u32| -> Result<u32> {
        let c = counts.lock().unwrap();
        match c.bad.first() {
            Some(bad) => Err(failed(format!("a read answered {bad}"))),
            None => Ok(f(&c)),
        }
    };
    let processes = || (stack.data_api_pid(), stack.worker_pid());
    let before = processes();
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let answer = read_once(http, &path, &bearer);
                // The phase when the answer came: a read in flight at the crash may fail.
                let seen = phase.load(Ordering::Relaxed);
                let mut c = counts.lock().unwrap();
                match answer {
                    Ok(a) if full_page(&a) && seen < 2 => c.ok_before += 1,
                    Ok(a) if full_page(&a) => c.ok_after += 1,
                    Ok(a) if a.clean_5xx() && seen > 0 => {
                        c.failed_during += 1;
                        c.slowest_failure = c.slowest_failure.max(a.secs);
                        let kind = format!("{} {}", a.status, a.code().unwrap_or_default());
                        *c.failures.entry(kind).or_default() += 1;
                    }
                    Ok(a) => c.bad.push(a.describe()),
                    Err(e) => c.bad.push(e.to_string()),
                }
            }
        });
        let result = (|| -> Result<f64> {
            wait_for("5 reads before the crash", READ_DEADLINE, || {
                Ok(count(&|c| c.ok_before)? >= 5)
            })?;
            phase.store(1, Ordering::Relaxed);
            stack.kill_postgres()?;
            wait_for("3 reads failing during the outage", READ_DEADLINE, || {
                Ok(count(&|c| c.failed_during)? >= 3)
            })?;
            stack.restart_postgres()?;
            phase.store(2, Ordering::Relaxed);
            let recovered = wait_for(
                "the first full page after the restart",
                READ_DEADLINE,
                || Ok(count(&|c| c.ok_after)? >= 1),
            )?;
            wait_for("10 full pages after the restart", READ_DEADLINE, || {
                Ok(count(&|c| c.ok_after)? >= 10)
            })?;
            Ok(recovered)
        })();
        stop.store(true, Ordering::Relaxed);
        result
    });
    let c = counts.into_inner().unwrap();
    let recovered = outcome?;
    if !c.bad.is_empty() {
        return Err(failed(format!(
            "{} reads answered neither a page nor a clean JSON 5xx: {}",
            c.bad.len(),
            c.bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        )));
    }
    if processes() != before || before.0.is_none() || before.1.is_none() {
        return Err(failed(format!(
            "the data API and Worker pids were {before:?} before the restart, {:?} after",
            processes()
        )));
    }
    let failures: Vec<String> = c
        .failures
        .iter()
        .map(|(k, n)| format!("{n}× {k}"))
        .collect();
    Ok(format!(
        "{} reads: {} pages before the crash, {} clean JSON errors while PostgreSQL was down \
         ({}; slowest {:.1}s), {} pages after; the first page {recovered:.1}s after PostgreSQL \
         answered again, with the same data API and Worker processes (pids {:?}, {:?})",
        c.ok_before + c.failed_during + c.ok_after,
        c.ok_before,
        c.failed_during,
        failures.join(", "),
        c.slowest_failure,
        c.ok_after,
        before.0.unwrap_or(0),
        before.1.unwrap_or(0)
    ))
}

// ---- 3. wrk while another tenant uploads ----------------------------------------------------

/// What `wrk --latency` printed, as far as the test needs it.
struct WrkReport {
    requests: u64,
    per_sec: f64,
    p50: String,
    p99: String,
    non_2xx: u64,
    socket_errors: u64,
}

fn parse_wrk(out: &str) -> Option<WrkReport> {
    let number = |line: &str, after: &str| -> Option<f64> {
        line.split(after)
            .nth(1)?
            .split_whitespace()
            .next()?
            .trim_end_matches(',')
            .parse()
            .ok()
    };
    let mut report = WrkReport {
        requests: 0,
        per_sec: 0.0,
        p50: String::new(),
        p99: String::new(),
        non_2xx: 0,
        socket_errors: 0,
    };
    for line in out.lines().map(str::trim) {
        if line.contains(" requests in ") {
            report.requests = line.split_whitespace().next()?.parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Requests/sec:") {
            report.per_sec = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("50%") {
            report.p50 = rest.trim().to_string();
        } else if let Some(rest) = line.strip_prefix("99%") {
            report.p99 = rest.trim().to_string();
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            report.non_2xx = rest.trim().parse().ok()?;
        } else if line.starts_with("Socket errors:") {
            report.socket_errors = ["connect", "read", "write", "timeout"]
                .iter()
                .filter_map(|k| number(line, k))
                .sum::<f64>() as u64;
        }
    }
    (report.requests > 0 && !report.p50.is_empty()).then_some(report)
}

fn load_run(stack: &Stack, http: &Http, file: &Upload) -> Result<String> {
    let (reader, read_token) = http.new_client("faults-load-reader")?;
    let (writer, write_token) = http.new_client("faults-load-writer")?;
    let script = stack.dir.join("wrk-auth.lua");
    fs::write(
        &script,
        format!("wrk.headers[\"Authorization\"] = \"Bearer {read_token}\"\n"),
    )
    .map_err(|e| Error::io("fault_test_failed", "writing the wrk script", e))?;
    let key = format!("faults-load-{}", std::process::id());
    let mut upload = start_upload(http, &writer, &write_token, &key, file)?;
    // The reads start once the upload is really running (its first batch staged).
    wait_for("the other tenant's upload staging", UPLOAD_DEADLINE, || {
        if !upload.running() {
            return Err(failed("the upload ended before its first batch was seen"));
        }
        Ok(rows_staged(stack, &writer)? > 0)
    })?;
    let url = format!("{}/api/data/{reader}?limit={PAGE}", stack.worker_url());
    let mut wrk = Command::new("wrk");
    wrk.args(["-t", "2", "-c", &LOAD_CONNECTIONS.to_string()])
        .args([
            "-d",
            &format!("{LOAD_SECONDS}s"),
            "--timeout",
            "10s",
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(&url);
    let out = proc::output(&mut wrk, "wrk_failed")?;
    println!("{out}");
    let upload_overlapped = upload.running();
    let stored = upload.finish()?;
    let report = parse_wrk(&out).ok_or_else(|| failed(format!("unreadable wrk output:\n{out}")))?;
    if report.non_2xx > 0 || report.socket_errors > 0 {
        return Err(failed(format!(
            "{} non-2xx answers and {} socket errors in {} requests",
            report.non_2xx, report.socket_errors, report.requests
        )));
    }
    if stored.status != 200 || stored.json()["rows_stored"].as_u64() != Some(file.rows) {
        return Err(failed(format!(
            "the upload during the load run answered {}",
            stored.describe()
        )));
    }
    Ok(format!(
        "wrk -c {LOAD_CONNECTIONS} -d {LOAD_SECONDS}s GET /api/data/{{id}}?limit={PAGE}: {} \
         requests, 0 errors, {:.1} req/s, p50 {}, p99 {}; the other tenant's {} MB upload {} \
         ({} rows stored, {:.0}s)",
        report.requests,
        report.per_sec,
        report.p50,
        report.p99,
        UPLOAD_BYTES / 1_000_000,
        if upload_overlapped {
            "was still running when wrk ended"
        } else {
            "ended before wrk did"
        },
        file.rows,
        stored.secs
    ))
}

// ---- 4. the data API frozen ----------------------------------------------------------------

/// Thaws the data API however the test ends.
struct Thaw<'a>(&'a Stack);

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        let _ = self.0.freeze_data_api(false);
    }
}

fn frozen_data_api(stack: &Stack, http: &Http) -> Result<String> {
    let (client, token) = http.new_client("faults-frozen")?;
    let bearer = format!("Bearer {token}");
    let path = format!("/api/data/{client}?limit={PAGE}");
    let first = read_once(http, &path, &bearer)?;
    if !full_page(&first) {
        return Err(failed(format!(
            "a read before the freeze answered {}",
            first.describe()
        )));
    }
    let thaw = Thaw(stack);
    stack.freeze_data_api(true)?;
    // Three reads at once: each must come back on its own time limit, none waits for another.
    let calls: Vec<Call> = (0..3)
        .map(|_| {
            http.start(
                "GET",
                &path,
                &[("Authorization", &bearer)],
                Body::Empty,
                READ_DEADLINE,
            )
        })
        .collect::<Result<_>>()?;
    let health = http
        .start("GET", "/health", &[], Body::Empty, READ_DEADLINE)?
        .finish()?;
    let answers: Vec<Answer> = calls.into_iter().map(Call::finish).collect::<Result<_>>()?;
    drop(thaw);
    for a in &answers {
        if a.status != 504 || a.code().as_deref() != Some("upstream_timeout") {
            return Err(failed(format!(
                "a read with the data API frozen answered {}; expected 504 upstream_timeout",
                a.describe()
            )));
        }
    }
    if health.status != 200 {
        return Err(failed(format!(
            "GET /health with the data API frozen answered {}",
            health.describe()
        )));
    }
    let mut after = None;
    let thawed = wait_for("a full page after SIGCONT", READ_DEADLINE, || {
        let a = read_once(http, &path, &bearer)?;
        let ok = full_page(&a);
        after = Some(a);
        Ok(ok)
    })?;
    let slowest = answers.iter().map(|a| a.secs).fold(0.0, f64::max);
    Ok(format!(
        "3 concurrent reads with the data API stopped (SIGSTOP) answered 504 upstream_timeout \
         after {:.1}-{slowest:.1}s (the Worker's limit is {}s); /health answered 200 in {:.2}s \
         meanwhile; after SIGCONT a full page came {thawed:.1}s later ({:.2}s)",
        answers.iter().map(|a| a.secs).fold(f64::MAX, f64::min),
        WORKER_CALL_TIMEOUT.as_secs(),
        health.secs,
        after.map(|a| a.secs).unwrap_or(0.0)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read() {
        let out = "Running 30s test @ http://127.0.0.1:1/api/data/x?limit=50
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    20.00ms   5.00ms  90.00ms   80.00%
  Latency Distribution
     50%   18.50ms
     75%   22.00ms
     90%   30.00ms
     99%   70.10ms
  12000 requests in 30.01s, 9.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    399.87
Transfer/sec:    307.00KB
";
        let r = parse_wrk(out).unwrap();
        assert_eq!((r.requests, r.non_2xx, r.socket_errors), (12000, 4, 3));
        assert_eq!((r.p50.as_str(), r.p99.as_str()), ("18.50ms", "70.10ms"));
        assert!((r.per_sec - 399.87).abs() < 1e-9);
        assert!(parse_wrk("wrk: connection refused").is_none());
    }

    #[test]
    fn the_csv_has_the_size_asked_for_and_one_row_a_line() {
        let path = std::env::temp_dir().join(format!("faults-csv-{}.csv", std::process::id()));
        let rows = write_csv(&path, 100_000).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let _ = fs::remove_file(&path);
        assert!(text.len() >= 100_000 && text.len() < 100_200);
        assert_eq!(text.lines().count() as u64, rows + 1);
        assert!(text.lines().all(|l| l.split(',').count() == 8));
    }

    #[test]
    fn final_header_block_wins() {
        let a = Answer {
            status: 409,
            head: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 409 Conflict\r\nretry-after: 30\r\n\r\n"
                .into(),
            body: br#"{"code":"idempotency_in_progress","message":"x"}"#.to_vec(),
            secs: 0.1,
            error: String::new(),
        };
        assert_eq!(a.header("Retry-After").as_deref(), Some("30"));
        assert_eq!(a.code().as_deref(), Some("idempotency_in_progress"));
        assert!(!a.clean_5xx());
    }
}
