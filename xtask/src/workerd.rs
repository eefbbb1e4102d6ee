//! The built Worker served by plain `workerd serve`, without wrangler: what `bench --scale`
//! measures the Worker's own CPU and latency on. `wrangler dev` runs our code in a workerd
//! process that also hosts Miniflare's entry worker, an assets router and wrangler's middleware,
//! and it sends the Worker's outbound fetches through its proxy workerd; production has none of
//! that. Here one workerd process holds one worker (the two files `cargo xtask build-worker`
//! writes), its fetches go straight to the data API, and nothing else runs in it.
//!
//! Design decision: the config is a generated text capnp file beside copies of the built files
//! (`embed` reads paths relative to the config), the bindings are the stack's Worker variables
//! plus `wrangler.toml`'s `[vars]`, all as text bindings, exactly the names the Worker reads.
//! Left out on purpose, because no read touches them: the `[[ratelimits]]` bindings (login only),
//! the `[assets]` console and the cron trigger. `DEBUG_MEMORY` is `0`, as deployed.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::stack::{wait_until, Stack};
use crate::{http, proc, Error, Result};

const READY: Duration = Duration::from_secs(60);

/// A running `workerd serve` of the built Worker; stopped when dropped.
pub struct PlainWorkerd {
    pub pid: u32,
    pub port: u16,
}

impl Drop for PlainWorkerd {
    fn drop(&mut self) {
        proc::stop_group(self.pid, Duration::from_secs(5));
    }
}

impl PlainWorkerd {
    /// Writes the config into `stack.dir/workerd/` and starts workerd on a free port, once
    /// `GET /health` answers 200.
    pub fn start(root: &Path, stack: &Stack) -> Result<PlainWorkerd> {
        let failed = |doing: String| move |e| Error::io("workerd_config_failed", doing, e);
        let dir = stack.dir.join("workerd");
        proc::mkdir(&dir)?;
        for file in ["index.js", "index_bg.wasm"] {
            let from = root.join("build/worker").join(file);
            fs::copy(&from, dir.join(file))
                .map_err(failed(format!("copying {}", from.display())))?;
        }
        let toml_path = root.join("wrangler.toml");
        let toml = fs::read_to_string(&toml_path)
            .map_err(failed(format!("reading {}", toml_path.display())))?;
        let (date, vars) = wrangler_settings(&toml).ok_or_else(|| {
            Error::new(
                "workerd_config_failed",
                "wrangler.toml has no compatibility_date",
            )
        })?;
        let mut bindings: Vec<(String, String)> = stack
            .worker_bindings()
            .into_iter()
            .map(|(k, v)| match k {
                "DEBUG_MEMORY" => (k.to_string(), "0".to_string()),
                _ => (k.to_string(), v),
            })
            .collect();
        bindings.extend(vars);
        let port = http::free_port().map_err(|e| Error::io("no_free_port", "picking a port", e))?;
        let config = dir.join("config.capnp");
        fs::write(&config, capnp_config(&date, &bindings, port))
            .map_err(failed(format!("writing {}", config.display())))?;

        let binary = root.join("node_modules/@cloudflare/workerd-linux-64/bin/workerd");
        let log = stack.logs().join("workerd.log");
        let mut cmd = Command::new(&binary);
        cmd.current_dir(&dir)
            .args(["serve", "config.capnp", "--experimental"]);
        let pid = proc::spawn_service(&mut cmd, &log, &stack.pids().join("workerd.pid"))?;
        let workerd = PlainWorkerd { pid, port };
        let url = format!("http://127.0.0.1:{port}/health");
        wait_until("plain workerd", READY, Some(pid), &log, || {
            http::get_status(&url) == Some(200)
        })?;
        Ok(workerd)
    }
}

/// `compatibility_date` and the `[vars]` of wrangler.toml (`KEY = "value"` lines; the file
/// writes no other form there).
fn wrangler_settings(toml: &str) -> Option<(String, Vec<(String, String)>)> {
    let unquote = |v: &str| v.trim().trim_matches('"').to_string();
    let mut date = None;
    let mut vars = Vec::new();
    let mut section = "";
    for line in toml.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match section {
            "" if key.trim() == "compatibility_date" => date = Some(unquote(value)),
            "[vars]" => vars.push((key.trim().to_string(), unquote(value))),
            _ => {}
        }
    }
    date.map(|d| (d, vars))
}

fn capnp_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One worker service, an outbound network that may reach loopback (the data API), one socket.
fn capnp_config(date: &str, bindings: &[(String, String)], port: u16) -> String {
    let bindings: String = bindings
        .iter()
        .map(|(k, v)| {
            format!(
                "    (name = {}, text = {}),\n",
                capnp_string(k),
                capnp_string(v)
            )
        })
        .collect();
    format!(
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "outbound", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:{port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "index.js"),
    (name = "index_bg.wasm", wasm = embed "index_bg.wasm"),
  ],
  compatibilityDate = {date},
  globalOutbound = "outbound",
  bindings = [
{bindings}  ],
);
"#,
        date = capnp_string(date)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_and_vars_come_from_wrangler_toml() {
        let toml = "name = \"x\"\ncompatibility_date = \"2025-11-01\"\n\n[vars]\n# note\nJWT_AUD = \"authenticated\"\nMAX = \"5\"\n\n[limits]\ncpu_ms = 300\n";
        let (date, vars) = wrangler_settings(toml).unwrap();
        assert_eq!(date, "2025-11-01");
        assert_eq!(
            vars,
            vec![
                ("JWT_AUD".to_string(), "authenticated".to_string()),
                ("MAX".to_string(), "5".to_string())
            ]
        );
    }

    #[test]
    fn binding_values_are_escaped_in_the_config() {
        let config = capnp_config("2025-11-01", &[("K".into(), "a\"b\\c".into())], 9);
        assert!(config.contains(r#"(name = "K", text = "a\"b\\c"),"#));
        assert!(config.contains("127.0.0.1:9"));
    }
}
