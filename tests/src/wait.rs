//! Waiting for a condition with a deadline, never with a bare sleep.
//!
//! The condition is polled every [`POLL_INTERVAL`]: `Ok(Some(value))` ends the wait, `Ok(None)`
//! means "not yet", and an error is remembered (and retried) so that a timeout can say what the
//! last attempt saw: `timed out after 30s waiting for <what>; last: <error or "condition false">`.
//! An error made with [`give_up`] ends the wait at once (the process being waited on exited,
//! say): `gave up waiting for <what>: <error>`.
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::anyhow;

/// How often a condition is polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Marks an error as final: a wait that sees it stops retrying and fails with it.
pub fn give_up(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(GiveUp(error.into()))
}

/// The error behind [`give_up`].
#[derive(Debug)]
pub struct GiveUp(pub anyhow::Error);

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for GiveUp {}

/// Polls `f` until it yields `Some(value)`, fails with a [`give_up`] error, or `deadline` has
/// passed.
///
/// An attempt still running when the deadline passes is abandoned (dropped).
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let start = tokio::time::Instant::now();
    let end = start + deadline;
    let mut last = String::from("condition false");
    loop {
        match tokio::time::timeout_at(end, f()).await {
            Ok(Ok(Some(value))) => return Ok(value),
            Ok(Ok(None)) => last = "condition false".to_string(),
            Ok(Err(e)) if e.is::<GiveUp>() => return Err(gave_up(what, e)),
            Ok(Err(e)) => last = format!("{e:#}"),
            Err(_) => last = format!("attempt still running at the deadline (before that: {last})"),
        }
        let now = tokio::time::Instant::now();
        if now >= end {
            return Err(timeout_error(what, deadline, &last));
        }
        tokio::time::sleep_until(std::cmp::min(now + POLL_INTERVAL, end)).await;
    }
}

/// [`wait_for`] for synchronous code: polls `f` until it yields `Some(value)`, fails with a
/// [`give_up`] error, or `deadline` has passed. An attempt is not interrupted, so `f` should bound its own blocking calls.
pub fn wait_for_blocking<T, F>(what: &str, deadline: Duration, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> anyhow::Result<Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        let last = match f() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => "condition false".to_string(),
            Err(e) if e.is::<GiveUp>() => return Err(gave_up(what, e)),
            Err(e) => format!("{e:#}"),
        };
        let now = Instant::now();
        if now >= end {
            return Err(timeout_error(what, deadline, &last));
        }
        // Polling interval, not a correctness sleep: the condition decides.
        std::thread::sleep(std::cmp::min(POLL_INTERVAL, end - now));
    }
}

fn gave_up(what: &str, e: anyhow::Error) -> anyhow::Error {
    anyhow!("gave up waiting for {what}: {e:#}")
}

fn timeout_error(what: &str, deadline: Duration, last: &str) -> anyhow::Error {
    anyhow!(
        "timed out after {}s waiting for {what}; last: {last}",
        deadline.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_the_condition_holds() {
        let mut n = 0;
        let v = wait_for("n to reach 3", Duration::from_secs(5), || {
            n += 1;
            let n = n;
            async move { Ok((n >= 3).then_some(n)) }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn timeout_says_condition_false() {
        let start = std::time::Instant::now();
        let err = wait_for("the impossible", Duration::from_millis(300), || async {
            Ok::<Option<()>, _>(None)
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "timed out after 0.3s waiting for the impossible; last: condition false"
        );
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn timeout_reports_the_last_error() {
        let mut n = 0;
        let err = wait_for("errors", Duration::from_secs(1), || {
            n += 1;
            let n = n;
            async move { Err::<Option<()>, _>(anyhow!("attempt {n} failed")) }
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("timed out after 1s waiting for errors; last: attempt "),
            "{err}"
        );
        assert!(err.ends_with(" failed"), "{err}");
        // Polled about every 100 ms: the last attempt number is well above 1.
        let attempt: u32 = err
            .trim_end_matches(" failed")
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((2..=12).contains(&attempt), "{err}");
    }

    #[tokio::test]
    async fn a_hanging_attempt_is_cut_at_the_deadline() {
        let err = wait_for("a hang", Duration::from_millis(200), || async {
            std::future::pending::<anyhow::Result<Option<()>>>().await
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("timed out after 0.2s waiting for a hang; last: attempt still running"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn give_up_ends_the_wait_at_once() {
        let start = std::time::Instant::now();
        let err = wait_for("a dead process", Duration::from_secs(30), || async {
            Err::<Option<()>, _>(give_up(anyhow!("it exited (exit status: 1)")))
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "gave up waiting for a dead process: it exited (exit status: 1)"
        );
        assert!(start.elapsed() < Duration::from_secs(5));

        let err = wait_for_blocking("x", Duration::from_secs(30), || {
            Err::<Option<()>, _>(give_up(anyhow!("final").context("outer")))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "gave up waiting for x: outer: final");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn blocking_variant() {
        let mut n = 0;
        let v = wait_for_blocking("n to reach 2", Duration::from_secs(5), || {
            n += 1;
            Ok((n >= 2).then_some(n * 10))
        })
        .unwrap();
        assert_eq!(v, 20);

        let err = wait_for_blocking("never", Duration::from_millis(250), || {
            Err::<Option<()>, _>(anyhow!("still broken"))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "timed out after 0.25s waiting for never; last: still broken"
        );
    }
}
