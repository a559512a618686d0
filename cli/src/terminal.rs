//! The client's terminal: whether stdin and stdout are one, raw mode for `exec -it` (restored
//! however the command ends), its size, and whether to draw colour or spinners.
use std::io::IsTerminal;

use rustix::termios::{tcgetattr, tcgetwinsize, tcsetattr, OptionalActions, Termios};

/// Standard input is in raw mode while this lives; dropping it restores the old mode.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts standard input in raw mode (keys reach the remote program as typed, Ctrl-C
    /// included).
    pub fn enable() -> std::io::Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin)?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(&stdin, OptionalActions::Now, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

/// Columns and rows of the terminal on standard input, if it is one.
pub fn size() -> Option<(u16, u16)> {
    let w = tcgetwinsize(std::io::stdin()).ok()?;
    (w.ws_col > 0 && w.ws_row > 0).then_some((w.ws_col, w.ws_row))
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Spinners and colour only for a person watching: stdout and stderr are a terminal and
/// `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn decorate() -> bool {
    std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A spinner on stderr showing `message` while a command waits; hidden when nobody watches
/// ([`decorate`]).
pub fn spinner(message: &str) -> indicatif::ProgressBar {
    if !decorate() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}
