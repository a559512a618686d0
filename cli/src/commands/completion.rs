//! `bosun completion bash|zsh|fish`: shell completion of commands and flags from the CLI's own
//! definition (clap_complete); bash also completes object names (`bosun get pods <TAB>`) by
//! asking the cluster with `bosun get KIND -o name`.
use clap::CommandFactory;
use clap_complete::Shell;

#[derive(clap::Args)]
pub struct Args {
    /// bash, zsh or fish.
    pub shell: Shell,
}

/// Verbs whose argument after the kind is an object's name.
const NAMED_VERBS: &str = "get describe delete edit logs exec scale cordon uncordon drain";

pub fn run<C: CommandFactory>(args: Args) -> anyhow::Result<()> {
    let mut cmd = C::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "bosun", &mut out);
    let mut text = String::from_utf8(out)?;
    if args.shell == Shell::Bash {
        text.push_str(&bash_names());
    }
    crate::commands::emit(&text)
}

/// Wraps clap's bash function: where it offers nothing and the word before is a kind (or the
/// verb takes pods), offers the names of those objects.
fn bash_names() -> String {
    format!(
        r#"
_bosun_names() {{
    _bosun "$@"
    [[ ${{#COMPREPLY[@]}} -gt 0 && "${{COMPREPLY[0]}}" != -* ]] && return 0
    local verb="${{COMP_WORDS[1]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" cur="${{COMP_WORDS[COMP_CWORD]}}"
    case " {NAMED_VERBS} " in *" $verb "*) ;; *) return 0 ;; esac
    local kind="$prev"
    case "$verb" in logs|exec) [[ "$prev" == "$verb" || "$prev" == -* ]] && kind=pods ;; cordon|uncordon|drain) kind=nodes ;; esac
    [[ "$kind" == "$verb" || "$kind" == -* ]] && return 0
    local names
    names=$(bosun get "$kind" -o name 2>/dev/null | sed 's|.*/||')
    COMPREPLY=( $(compgen -W "$names" -- "$cur") )
}}
complete -F _bosun_names -o bashdefault -o default bosun
"#
    )
}
