//! [`Status`] and [`Member`]: the table printed by `bosun cluster status`, parsed, as the
//! [`Masters`](super::Masters) observe their cluster.
use std::fmt;

use anyhow::{bail, Context};

/// One row of `bosun cluster status` (columns `NAME ID ADDRESS ROLE TERM COMMIT APPLIED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub id: u64,
    pub address: String,
    /// `leader`, `follower`, `learner`, ….
    pub role: String,
    /// Why the answering master could not tell more (printed as `ROLE (error)`), if it says.
    pub error: Option<String>,
    pub term: u64,
    pub commit: u64,
    pub applied: u64,
}

impl Member {
    /// Which of the [`Masters`](super::Masters) this is: `m<n>` is index `n - 1`.
    pub fn index(&self) -> Option<usize> {
        let n: usize = self.name.strip_prefix('m')?.parse().ok()?;
        n.checked_sub(1)
    }
}

/// The masters as `bosun cluster status` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub members: Vec<Member>,
}

impl Status {
    /// Parses the table printed by `bosun cluster status`: the header line, then one row per
    /// member. Lines before the header are ignored.
    pub fn parse(output: &str) -> anyhow::Result<Status> {
        let mut lines = output.lines();
        lines
            .by_ref()
            .find(|l| l.split_whitespace().next() == Some("NAME"))
            .with_context(|| format!("no status table in {output:?}"))?;
        let members = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| parse_row(l).with_context(|| format!("bad status row {l:?}")))
            .collect::<anyhow::Result<_>>()?;
        Ok(Status { members })
    }

    /// How many members have `role`.
    pub fn count(&self, role: &str) -> usize {
        self.members.iter().filter(|m| m.role == role).count()
    }

    /// The first member listed as leader that is one of the [`Masters`](super::Masters), with
    /// its index.
    pub fn leader(&self) -> Option<(usize, &Member)> {
        self.members
            .iter()
            .filter(|m| m.role == "leader")
            .find_map(|m| Some((m.index()?, m)))
    }

    /// The row of master `i`.
    pub fn member(&self, i: usize) -> Option<&Member> {
        self.members.iter().find(|m| m.index() == Some(i))
    }

    /// Whether `n` members are listed, exactly one leads and every one is a voter.
    pub fn settled(&self, n: usize) -> bool {
        self.members.len() == n
            && self.count("leader") == 1
            && self
                .members
                .iter()
                .all(|m| m.role == "leader" || m.role == "follower")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.members.is_empty() {
            return write!(f, "no members");
        }
        for (n, m) in self.members.iter().enumerate() {
            let sep = if n == 0 { "" } else { ", " };
            write!(
                f,
                "{sep}{}={} term {} commit {} applied {}",
                m.name, m.role, m.term, m.commit, m.applied
            )?;
            if let Some(e) = &m.error {
                write!(f, " ({e})")?;
            }
        }
        Ok(())
    }
}

/// One row: the first four columns, then the last three; what lies between is the error that
/// follows the role in parentheses.
fn parse_row(line: &str) -> anyhow::Result<Member> {
    let c: Vec<&str> = line.split_whitespace().collect();
    if c.len() < 7 {
        bail!("{} columns, want at least 7", c.len());
    }
    let number = |s: &str| {
        s.parse::<u64>()
            .with_context(|| format!("{s:?} is no number"))
    };
    let n = c.len();
    let error = c[4..n - 3].join(" ");
    let error = error.trim_start_matches('(').trim_end_matches(')');
    Ok(Member {
        name: c[0].to_string(),
        id: number(c[1])?,
        address: c[2].to_string(),
        role: c[3].to_string(),
        error: (!error.is_empty()).then(|| error.to_string()),
        term: number(c[n - 3])?,
        commit: number(c[n - 2])?,
        applied: number(c[n - 1])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
NAME   ID                    ADDRESS           ROLE                          TERM   COMMIT   APPLIED
m1     1                     127.0.0.1:4001    leader                        3      42       42
m2     7251064893129457203   127.0.0.1:4002    follower (unreachable: refused)   2      40       39
m3     9                     127.0.0.1:4003    follower                      3      42       41
";

    #[test]
    fn parses_the_table() {
        let s = Status::parse(&format!("a warning first\n{TABLE}")).unwrap();
        assert_eq!(s.members.len(), 3);
        let m2 = s.member(1).unwrap();
        assert_eq!(m2.id, 7251064893129457203);
        assert_eq!(m2.address, "127.0.0.1:4002");
        assert_eq!(m2.role, "follower");
        assert_eq!(m2.error.as_deref(), Some("unreachable: refused"));
        assert_eq!((m2.term, m2.commit, m2.applied), (2, 40, 39));
        assert_eq!(s.member(2).unwrap().error, None);
        let (i, leader) = s.leader().unwrap();
        assert_eq!((i, leader.name.as_str(), leader.commit), (0, "m1", 42));
        assert_eq!(s.count("follower"), 2);
        assert!(s.settled(3));
        assert!(!s.settled(2));
        assert!(s
            .to_string()
            .starts_with("m1=leader term 3 commit 42 applied 42, m2=follower"));
    }

    #[test]
    fn rejects_what_is_no_table() {
        assert!(Status::parse("error: cannot reach the master").is_err());
        assert!(Status::parse("NAME ID\nm1 x 127.0.0.1:1 leader 1 2 3").is_err());
        assert_eq!(Status::parse("NAME ID\n").unwrap(), Status::default());
    }
}
