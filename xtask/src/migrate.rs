//! Migrations: `migrations/<version>_<name>.sql`, applied in name order, each in its own
//! transaction together with its row in `supabase_migrations.schema_migrations` — the table and
//! columns the Supabase CLI uses, so `supabase db push` and this agree on what has been applied.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{proc, Error, Result};

/// The `up` stack's database, used when `migrate` is given no `--db-url`.
pub const DEFAULT_DB_URL: &str = "postgresql://postgres:postgres@127.0.0.1:54322/postgres";

const HISTORY_DDL: &str = "\
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text not null primary key,
  statements text[],
  name text
);";

/// `cargo xtask migrate [--db-url URL]`
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let db_url = match args {
        [] => stack_env_db_url(root).unwrap_or_else(|| DEFAULT_DB_URL.to_string()),
        [flag, url] if flag == "--db-url" => url.clone(),
        [one] if one.starts_with("--db-url=") => one["--db-url=".len()..].to_string(),
        _ => {
            return Err(Error::new(
                "bad_arguments",
                "usage: cargo xtask migrate [--db-url postgresql://USER@HOST:PORT/DB]",
            ))
        }
    };
    let applied = apply(root, &db_url)?;
    println!("migrate: {applied} migration(s) applied to {db_url}");
    Ok(())
}

pub fn stack_env_db_url(root: &Path) -> Option<String> {
    let text = fs::read_to_string(root.join(".local").join("stack.env")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("DB_URL="))
        .map(str::to_string)
}

/// psql against `db_url`: no ~/.psqlrc, stop at the first error.
pub fn psql(db_url: &str) -> Command {
    let mut cmd = Command::new(proc::pg_bin("psql"));
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_url]);
    cmd
}

/// Runs one SQL file as the superuser in a single transaction (used for the bootstrap).
pub fn run_file(db_url: &str, file: &Path) -> Result<()> {
    let mut cmd = psql(db_url);
    cmd.arg("--single-transaction").arg("-f").arg(file);
    proc::output(&mut cmd, "sql_file_failed").map(|_| ())
}

/// A migration file, split into the parts the history table records.
#[derive(Debug, PartialEq)]
struct Migration {
    path: PathBuf,
    version: String,
    name: String,
}

/// `20250101000000_create_tables.sql` → version `20250101000000`, name `create_tables`.
fn parse_file_name(path: &Path) -> Option<Migration> {
    let file_name = path.file_name()?.to_str()?;
    let stem = file_name.strip_suffix(".sql")?;
    let (version, name) = stem.split_once('_')?;
    (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit())).then(|| Migration {
        path: path.to_path_buf(),
        version: version.to_string(),
        name: name.to_string(),
    })
}

fn pending_files(root: &Path) -> Result<Vec<Migration>> {
    let dir = root.join("migrations");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::io(
                "migrations_unreadable",
                format!("reading {}", dir.display()),
                e,
            ))
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            parse_file_name(path).ok_or_else(|| {
                Error::new(
                    "bad_migration_name",
                    format!(
                        "{} is not named <digits>_<name>.sql (as `supabase migration new` names files)",
                        path.display()
                    ),
                )
            })
        })
        .collect()
}

fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A dollar-quoted literal whose tag does not occur in `text`.
fn dollar_quoted(text: &str) -> String {
    let mut tag = String::from("$migration$");
    let mut n = 0;
    while text.contains(&tag) {
        n += 1;
        tag = format!("$migration{n}$");
    }
    format!("{tag}{text}{tag}")
}

/// Applies every migration not yet recorded; returns how many were applied.
pub fn apply(root: &Path, db_url: &str) -> Result<usize> {
    proc::output(
        psql(db_url).args(["-c", HISTORY_DDL]),
        "migration_history_failed",
    )?;
    let applied = proc::output(
        psql(db_url).args([
            "-A",
            "-t",
            "-c",
            "select version from supabase_migrations.schema_migrations",
        ]),
        "migration_history_failed",
    )?;
    let applied: Vec<&str> = applied.lines().map(str::trim).collect();
    let mut count = 0;
    for migration in pending_files(root)? {
        if applied.contains(&migration.version.as_str()) {
            continue;
        }
        apply_one(db_url, &migration)?;
        println!("migrate: applied {}_{}", migration.version, migration.name);
        count += 1;
    }
    Ok(count)
}

fn apply_one(db_url: &str, migration: &Migration) -> Result<()> {
    let text = fs::read_to_string(&migration.path).map_err(|e| {
        Error::io(
            "migration_unreadable",
            format!("reading {}", migration.path.display()),
            e,
        )
    })?;
    let absolute = fs::canonicalize(&migration.path).unwrap_or_else(|_| migration.path.clone());
    // The file and its history row in one transaction: either both land or neither does.
    let script = format!(
        "\\i {}\n;\ninsert into supabase_migrations.schema_migrations (version, name, statements) \
         values ({}, {}, array[{}]);\n",
        sql_literal(&absolute.to_string_lossy()),
        sql_literal(&migration.version),
        sql_literal(&migration.name),
        dollar_quoted(&text),
    );
    let mut cmd = psql(db_url);
    cmd.args(["--single-transaction", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            "psql_missing",
            format!("could not start `{}`: {e}", proc::describe(&cmd)),
        )
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::io("migration_failed", "writing to psql", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("migration_failed", "waiting for psql", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::new(
            "migration_failed",
            format!(
                "{} failed, nothing of it was applied:\n{}",
                migration.path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_split_like_the_supabase_cli() {
        let m = parse_file_name(Path::new("migrations/20250101000000_create_tables.sql"));
        assert_eq!(
            m.map(|m| (m.version, m.name)),
            Some(("20250101000000".to_string(), "create_tables".to_string()))
        );
        assert!(parse_file_name(Path::new("migrations/create_tables.sql")).is_none());
        assert!(parse_file_name(Path::new("migrations/2025_x.txt")).is_none());
    }

    #[test]
    fn dollar_quoting_survives_function_bodies() {
        let body =
            "create function f() returns int language sql as $migration$ select 1 $migration$;";
        let quoted = dollar_quoted(body);
        assert!(quoted.starts_with("$migration1$"));
        assert!(quoted.ends_with("$migration1$"));
    }
}
