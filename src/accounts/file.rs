//! The accounts file (`QWEN_ACCOUNTS_FILE`, `~/.config/qwenctl/accounts.toml` by default):
//! one `[[account]]` table per upstream account, with its `name`, `email` and `password`.
//!
//! It holds passwords, so it is private or it is not read: it is created with mode 0600
//! (its folder 0700), and a file that group or others can read is refused with a message
//! saying how to fix it, before anything in it is parsed. Errors name the file, the line and
//! the account, never a password: a TOML parser's message may quote the offending value, so
//! only the kind of mistake is kept from it. Writes (`qwenctl accounts add`, `remove`) go
//! to a temporary file beside it that replaces it in one rename, so a crash never leaves
//! half a file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// What the file says about one account.
#[derive(Clone, PartialEq, Eq)]
pub struct FileAccount {
    pub name: String,
    pub email: String,
    pub password: Secret,
}

impl std::fmt::Debug for FileAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileAccount")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("password", &self.password)
            .finish()
    }
}

/// Why the accounts file cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the accounts file {} does not exist", .0.display())]
    Missing(PathBuf),
    #[error(
        "the accounts file {} can be read by other users (mode {mode:o}): it holds passwords; run `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    Readable { path: PathBuf, mode: u32 },
    #[error("the accounts file {}{}: {message}", .path.display(), .line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Malformed {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("cannot {action} the accounts file {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The file's layout, for serde.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layout {
    #[serde(default, rename = "account")]
    accounts: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    email: String,
    password: String,
}

const HEADER: &str = "\
# qwenctl accounts (design.md section 12), managed by `qwenctl accounts add|remove`.
# It holds passwords: keep it private (mode 0600); qwenctl refuses it otherwise.
";

/// Reads the accounts in `path`: refused when others can read it, when it is not valid
/// TOML of the expected shape, or when two accounts share a name.
pub fn read(path: &Path) -> Result<Vec<FileAccount>, FileError> {
    check_private(path)?;
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Whether the file exists (a missing file is not an error for `accounts add`).
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Refuses a missing file, and one that group or others may read.
fn check_private(path: &Path) -> Result<(), FileError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(FileError::Missing(path.to_owned()));
        }
        Err(source) => {
            return Err(FileError::Io {
                action: "inspect",
                path: path.to_owned(),
                source,
            });
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o044 != 0 {
            return Err(FileError::Readable {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

fn parse(path: &Path, text: &str) -> Result<Vec<FileAccount>, FileError> {
    let malformed = |line: Option<usize>, message: String| FileError::Malformed {
        path: path.to_owned(),
        line,
        message,
    };
    let layout: Layout = toml::from_str(text).map_err(|err| {
        let line = err
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        malformed(line, without_values(err.message()))
    })?;
    let mut accounts: Vec<FileAccount> = Vec::new();
    for (i, entry) in layout.accounts.into_iter().enumerate() {
        let which = format!("account {} ({:?})", i + 1, entry.name);
        if let Err(why) = check_name(&entry.name) {
            return Err(malformed(None, format!("{which}: {why}")));
        }
        if !entry.email.contains('@') || entry.email.trim() != entry.email {
            return Err(malformed(
                None,
                format!("{which}: `email` is not an email address"),
            ));
        }
        if entry.password.is_empty() {
            return Err(malformed(None, format!("{which}: `password` is empty")));
        }
        if accounts.iter().any(|a| a.name == entry.name) {
            return Err(malformed(
                None,
                format!("{which}: the name is used by an earlier account"),
            ));
        }
        accounts.push(FileAccount {
            name: entry.name,
            email: entry.email,
            password: Secret::new(entry.password),
        });
    }
    Ok(accounts)
}

/// A parser message with every quoted value left out (`` `…` `` and `"…"`), since the value
/// may be a password.
fn without_values(message: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if matches!(c, '`' | '"' | '\'') {
                    quote = Some(c);
                }
            }
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An account name: what logs, metrics and the store show, so plain and short.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err("`name` must be 1-64 letters, digits, `-`, `_`, `.` or `+`")
    }
}

/// The default name of an account: the local part of its email, made a valid name.
pub fn default_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let name: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "account".to_owned()
    } else {
        name
    }
}

/// Writes `accounts` to `path` (mode 0600, its folder created 0700), replacing the file in
/// one rename.
pub fn write(path: &Path, accounts: &[FileAccount]) -> Result<(), FileError> {
    let layout = Layout {
        accounts: accounts
            .iter()
            .map(|a| Entry {
                name: a.name.clone(),
                email: a.email.clone(),
                password: a.password.expose().to_owned(),
            })
            .collect(),
    };
    let body = toml::to_string(&layout).map_err(|err| FileError::Malformed {
        path: path.to_owned(),
        line: None,
        message: without_values(&err.to_string()),
    })?;
    write_private(path, &format!("{HEADER}\n{body}")).map_err(|source| FileError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// Writes `text` to `path` through a private temporary file and a rename; creates the
/// folder (0700) when it is missing. Shared with the token cache.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        {
            // An existing temporary file keeps its mode through `open`; make sure.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("accounts.toml");
        write_private(&path, text).unwrap();
        path
    }

    #[test]
    fn round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("accounts.toml");
        let accounts = vec![
            FileAccount {
                name: "alice".into(),
                email: "alice@example.com".into(),
                password: Secret::new("pa\"ss = word"),
            },
            FileAccount {
                name: "bob".into(),
                email: "bob@example.com".into(),
                password: Secret::new("hunter2"),
            },
        ];
        write(&path, &accounts).unwrap();
        assert_eq!(read(&path).unwrap(), accounts);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        assert!(!format!("{:?}", accounts[1]).contains("hunter2"));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused_before_it_is_parsed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = private(dir.path(), "not = [valid");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, FileError::Readable { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn mistakes_are_named_without_quoting_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            // A password given as a number: the parser's message would quote it.
            (
                "[[account]]\nname = \"a\"\nemail = \"a@x.io\"\npassword = 98765432\n",
                "98765432",
            ),
            (
                "[[account]]\nname = \"a\"\nemail = \"a@x.io\"\npassword = \"s3cret-unterminated\n",
                "s3cret",
            ),
            (
                "[[account]]\nname = \"a\"\nemail = \"a@x.io\"\npasword = \"typo-secret\"\n",
                "typo-secret",
            ),
        ];
        for (text, secret) in cases {
            let err = read(&private(dir.path(), text)).unwrap_err().to_string();
            assert!(err.contains("accounts.toml"), "{err}");
            assert!(err.contains("line"), "{err}");
            assert!(!err.contains(secret), "{err}");
        }
        let twice = "[[account]]\nname = \"a\"\nemail = \"a@x.io\"\npassword = \"p1\"\n\
                     [[account]]\nname = \"a\"\nemail = \"b@x.io\"\npassword = \"p2\"\n";
        let err = read(&private(dir.path(), twice)).unwrap_err().to_string();
        assert!(
            err.contains("account 2") && err.contains("earlier"),
            "{err}"
        );
        let bad_name = "[[account]]\nname = \"a b\"\nemail = \"a@x.io\"\npassword = \"p\"\n";
        let err = read(&private(dir.path(), bad_name))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`name`"), "{err}");
        assert!(matches!(
            read(&dir.path().join("none.toml")),
            Err(FileError::Missing(_))
        ));
        assert_eq!(read(&private(dir.path(), "")).unwrap(), vec![]);
    }

    #[test]
    fn default_names_come_from_the_email() {
        assert_eq!(default_name("alice.w@example.com"), "alice.w");
        assert_eq!(default_name("a b@x"), "a-b");
        assert_eq!(default_name("@x"), "account");
        assert!(check_name("ok-name_1").is_ok());
        assert!(check_name("").is_err() && check_name("a/b").is_err());
    }
}
