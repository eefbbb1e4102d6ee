//! `cargo xtask admin create EMAIL [--db-url URL]`: a superadmin account for the web console,
//! so nobody pastes the service key into a browser. The password comes from `ADMIN_PASSWORD`,
//! else it is read from the terminal. (In production an admin is a Supabase Auth user whose
//! `app_metadata.role` is `superadmin`; see README.)
//!
//! Design decision: the password is hashed here, with the Worker's exact PHC format
//! (`$pbkdf2-sha256$i=100000$<salt>$<hash>`, base64 without padding; `src/auth/password.rs`),
//! and only the hash goes to `public.create_admin_account`, as psql variables on stdin — never
//! on a command line, where `ps` would show it.

use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::Stdio;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

use crate::{migrate, Error, Result};

/// The Worker's `password::NEW_HASH_ITERATIONS`.
const ITERATIONS: u32 = 100_000;
const MIN_PASSWORD: usize = 8;

pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let usage = || {
        Error::new(
            "bad_arguments",
            "usage: cargo xtask admin create EMAIL [--db-url URL]   (password: $ADMIN_PASSWORD or a prompt)",
        )
    };
    let (email, rest) = match args {
        [verb, email, rest @ ..] if verb == "create" => (email, rest),
        _ => return Err(usage()),
    };
    let db_url = match rest {
        [] => migrate::stack_env_db_url(root).unwrap_or_else(|| migrate::DEFAULT_DB_URL.into()),
        [flag, url] if flag == "--db-url" => url.clone(),
        _ => return Err(usage()),
    };
    let password = match std::env::var("ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("password for {email} (at least {MIN_PASSWORD} characters): ");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Error::io("password_unreadable", "reading the password", e))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let created = create(&db_url, email, &password)?;
    println!("admin: created {created}; sign in to the console with this email");
    Ok(())
}

/// Creates the account; returns `create_admin_account`'s JSON answer.
pub fn create(db_url: &str, email: &str, password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::new(
            "weak_password",
            format!("the password needs at least {MIN_PASSWORD} characters"),
        ));
    }
    let hash = phc_hash(password)?;
    let mut child = migrate::psql(db_url)
        .args(["-A", "-t", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("psql_missing", "starting psql", e))?;
    let script = format!(
        "\\set email {}\n\\set hash {}\nselect public.create_admin_account(:'email', :'hash');\n",
        psql_quote(email),
        psql_quote(&hash)
    );
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(script.as_bytes()))
        .transpose()
        .map_err(|e| Error::io("admin_create_failed", "writing to psql", e))?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("admin_create_failed", "waiting for psql", e))?;
    if !out.status.success() {
        return Err(Error::new(
            "admin_create_failed",
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A psql `\set` value in single quotes (backslashes and quotes escaped).
fn psql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn phc_hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .map_err(|e| Error::io("no_randomness", "reading /dev/urandom", e))?;
    let mut hash = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, ITERATIONS, &mut hash);
    Ok(format!(
        "$pbkdf2-sha256$i={ITERATIONS}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_the_workers_phc_format() {
        let h = phc_hash("correct horse").unwrap();
        let parts: Vec<&str> = h.split('$').collect();
        assert_eq!(&parts[..3], ["", "pbkdf2-sha256", "i=100000"]);
        assert_eq!(STANDARD_NO_PAD.decode(parts[3]).unwrap().len(), 16);
        assert_eq!(STANDARD_NO_PAD.decode(parts[4]).unwrap().len(), 32);
        assert_ne!(h, phc_hash("correct horse").unwrap(), "salted");
    }

    #[test]
    fn known_vector() {
        // RFC 7914 §11's PBKDF2-HMAC-SHA256 vector ("passwd", "salt", 1 iteration).
        let mut out = [0u8; 16];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"passwd", b"salt", 1, &mut out);
        assert_eq!(out[..4], [0x55, 0xac, 0x04, 0x6e]);
    }

    #[test]
    fn psql_values_are_quoted() {
        assert_eq!(psql_quote("o'brien@x.io"), r"'o\'brien@x.io'");
    }
}
