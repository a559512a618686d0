//! `bosun exec [-i] [-t] [-c CONTAINER] POD -- COMMAND [ARGS...]`: runs a command in a
//! container through the master and the pod's agent; with `-it`, in a real terminal.
use std::io::Write;

use bosun_proto::v1::{exec_input, ExecInput, ExecStart, TerminalSize};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::commands::{pod_name, Exit};
use crate::terminal;
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Pod name (or pod/NAME).
    pub pod: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
    /// Pass standard input to the command.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Give the command a terminal (with -i, typed keys reach it as typed).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Container of the pod (default: the first).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
}

/// Input messages queued towards the master.
const INPUT_BUFFER: usize = 64;

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let pod = pod_name(&args.pod)?;
    let mut tty = args.tty;
    if tty && !(args.stdin && terminal::stdin_is_terminal()) {
        eprintln!("Unable to use a TTY - input is not a terminal or the right kind of file");
        tty = false;
    }
    let client = ctx.client().await?;
    let (tx, rx) = mpsc::channel(INPUT_BUFFER);
    let size = tty
        .then(terminal::size)
        .flatten()
        .map(|(cols, rows)| TerminalSize {
            cols: cols.into(),
            rows: rows.into(),
        });
    let start = ExecStart {
        namespace: ctx.namespace.clone(),
        pod: pod.to_string(),
        container: args.container.clone().unwrap_or_default(),
        command: args.command.clone(),
        tty,
        stdin: args.stdin,
        size,
    };
    tx.send(input(exec_input::Msg::Start(start))).await?;
    let mut output = client.exec(ReceiverStream::new(rx)).await?;
    // Raw only once the command runs, so an error above prints on a sane terminal.
    let raw = if tty {
        Some(terminal::RawMode::enable()?)
    } else {
        None
    };
    if args.stdin {
        read_stdin(tx.clone());
    }
    if tty {
        watch_size(tx.clone());
    }
    drop(tx);
    let mut code = None;
    while let Some(m) = output.next().await {
        let m = m?;
        if !m.stdout.is_empty() {
            write_all(&mut std::io::stdout(), &m.stdout)?;
        }
        if !m.stderr.is_empty() {
            write_all(&mut std::io::stderr(), &m.stderr)?;
        }
        if m.exit_code.is_some() {
            code = m.exit_code;
            break;
        }
    }
    drop(raw);
    match code {
        Some(0) => Ok(()),
        Some(code) => Err(Exit {
            code,
            message: format!("command terminated with exit code {code}"),
        }
        .into()),
        None => anyhow::bail!("the connection to the container ended before the command did"),
    }
}

fn input(msg: exec_input::Msg) -> ExecInput {
    ExecInput { msg: Some(msg) }
}

fn write_all(w: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    match w.write_all(data).and_then(|()| w.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Sends standard input as it arrives, then its end. A thread of its own, not tokio's
/// blocking pool: a read blocked on a terminal must not hold up the process's exit.
fn read_stdin(tx: mpsc::Sender<ExecInput>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 8192];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.blocking_send(input(exec_input::Msg::StdinEof(true)));
                    return;
                }
                Ok(n) => {
                    if tx
                        .blocking_send(input(exec_input::Msg::Stdin(buf[..n].to_vec())))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
}

/// Sends the terminal's new size whenever it changes (SIGWINCH).
fn watch_size(tx: mpsc::Sender<ExecInput>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut changes) = signal(SignalKind::window_change()) else {
        return;
    };
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            if let Some((cols, rows)) = terminal::size() {
                let size = TerminalSize {
                    cols: cols.into(),
                    rows: rows.into(),
                };
                if tx.send(input(exec_input::Msg::Resize(size))).await.is_err() {
                    return;
                }
            }
        }
    });
}
