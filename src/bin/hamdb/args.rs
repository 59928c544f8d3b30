//! Command-line plumbing shared by the commands: argument parsing, failures, JSON strings.

use hamdb::Error;

pub enum Fail {
    Usage(String),
    Db(Error),
    Other(String),
    /// Some inputs failed (each was reported); the rest succeeded.
    Partial(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Db(e)
    }
}

pub type Res<T> = Result<T, Fail>;

pub fn usage<T>(msg: impl Into<String>) -> Res<T> {
    Err(Fail::Usage(msg.into()))
}

/// Flags and positional arguments of one command.
pub struct Args {
    pub pos: Vec<String>,
    pub flags: Vec<(String, String)>,
    pub switches: Vec<String>,
}

impl Args {
    pub fn parse(argv: &[String], switches: &[&str]) -> Res<Self> {
        let mut a = Args {
            pos: vec![],
            flags: vec![],
            switches: vec![],
        };
        let mut i = 0;
        while i < argv.len() {
            let s = &argv[i];
            if switches.contains(&s.as_str()) {
                a.switches.push(s.clone());
            } else if s.starts_with('-') && s.len() > 1 && s.parse::<f64>().is_err() {
                let v = argv
                    .get(i + 1)
                    .ok_or_else(|| Fail::Usage(format!("{s} needs a value")))?;
                a.flags.push((s.clone(), v.clone()));
                i += 1;
            } else {
                a.pos.push(s.clone());
            }
            i += 1;
        }
        Ok(a)
    }
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        self.flags
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
    pub fn num<T: std::str::FromStr>(&self, names: &[&str]) -> Res<Option<T>> {
        match self.get(names) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Fail::Usage(format!("{} takes a number, got {v:?}", names[0]))),
        }
    }
    pub fn db(&self) -> Res<&str> {
        self.pos
            .first()
            .map(String::as_str)
            .ok_or_else(|| Fail::Usage("missing the database path".into()))
    }
}

pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
