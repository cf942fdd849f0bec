//! Shell command lines as the policy engine sees them: the simple commands they run.
//!
//! An `execute:shell` request names a whole command line, and matching that line as one
//! string is unsound: `git status; rm -fr /` starts with `git `. So a command line is read
//! the way a POSIX/bash shell reads it and split into its *simple commands* ("parts"); the
//! evaluator decides every part, and the line is allowed only if every part is.
//!
//! # What is a part
//!
//! Every simple command the line can run, wherever it sits: in lists and sequences (`;`,
//! `&&`, `||`, `&`, newlines), pipelines (`|`, `|&`), subshells `( … )` and groups
//! `{ …; }`, the bodies of `if`/`while`/`until`/`for`/`select`/`case` and of function
//! definitions (a function may be called later, so its body is treated as run), command
//! substitutions `$( … )` and `` ` … ` ``, process substitutions `<( … )` and `>( … )`,
//! the `$( … )`/backticks of unquoted heredoc bodies, the words of `[[ … ]]`, `(( … ))`,
//! `case WORD`, `for NAME in WORDS` and redirection targets (their substitutions only:
//! those words are not commands), and finally the scripts that other commands run:
//!
//! - the script argument of `sh`, `bash`, `dash`, `zsh`, `ksh`, `mksh` and `ash` when
//!   given `-c` (also clustered or after other options: `bash -lc`, `sh -ec`,
//!   `bash -o pipefail -c`);
//! - the arguments of `eval`, joined by single spaces;
//! - the command after `-exec`, `-execdir`, `-ok` or `-okdir` of `find`, up to `;` or `+`.
//!
//! Those scripts are parsed like the line itself, recursively (each is one nesting level).
//! A script whose text is only known at run time (`bash -c "$x"`, `eval $cmd`) is an error:
//! its commands cannot be seen.
//!
//! # How a part is spelled (normalisation)
//!
//! Policies match parts as text, so one command has one spelling however it was quoted:
//!
//! - quotes and escapes are removed word by word: `'git' "status"` and `g\it status` are
//!   `git status`; `$'…'` is decoded (`$'rm'` is `rm`; `\xHH`/octal escapes above 0x7F are
//!   refused, a NUL ends the string as in bash); `$"…"` is read like `"…"`;
//!   a backslash-newline is removed (line continuation);
//! - words are joined by one space; spacing inside a word is kept (`echo "a  b"` is
//!   `echo a  b`) and an empty word stays an empty word (`bash -c ''` is `bash -c `);
//! - expansions and substitutions are kept as written, without the quotes around them:
//!   `ls "$(pwd)"` is `ls $(pwd)`, ``git log `bash x` `` is ``git log `bash x` ``, and a
//!   substitution spanning lines keeps its newlines verbatim (those newlines belong to the
//!   substitution's own commands, which are separate parts: a part never contains a
//!   newline that separated two of its own commands);
//! - leading assignments are removed (`FOO=1 BAR="x y" make` is `make`), and so are the
//!   plain wrappers below with their options: policies name commands, and
//!   `RUST_LOG=debug cargo test` is `cargo test`. (An assignment can still change what a
//!   command does, `PATH=…`, `LD_PRELOAD=…`, `GIT_SSH_COMMAND=…`: a policy that must see
//!   those needs them from somewhere else; a line made only of assignments keeps them);
//! - redirections follow the words, each operator and target with no space between
//!   (`make > log 2>&1` is `make >log 2>&1`; `cat <<'EOF'` is `cat <<EOF`), so a policy
//!   sees where output goes and a `cat ` prefix still admits a heredoc; heredoc bodies
//!   are data and are dropped.
//!
//! A part is never empty: a command made only of assignments is spelled by them
//! (`PATH=/tmp/x` is a part: it changes what later commands run), and a command made only
//! of redirections by them, each as operator and target with no space (`> out` is `>out`,
//! `$(< f)` gives `<f`). A wrapper with nothing after it stays (`env`, `exec >log`,
//! `nohup`). A line that runs no command at all (`(( x++ ))` or `[[ -f x ]]` alone, or
//! only comments) is the error [`ShellError::Empty`], so nothing empty is ever allowed.
//!
//! # Wrappers
//!
//! A wrapper runs the command after it, so the part is that command. Recognised by the
//! base name of the command word (`/usr/bin/env` is `env`), each with the options it is
//! known to take. When an option is unknown or takes an optional argument, or no command
//! follows, the wrapper is kept in the part rather than guessed. When a word that may be an
//! option or the command is an expansion (`env $X make`, `timeout "$T" make`), or an
//! option's value or an `env` assignment may split into several words (`nice -n $N make`,
//! `env A=$x make`: one of them may be a command), the command is only known at run time:
//! an error. Quoted values are one word and fine (`env PATH="$HOME/bin:$PATH" make`).
//!
//! | wrapper | options skipped |
//! |---|---|
//! | `env` | `-i` `-` `-0` `-v` `-u NAME` `-C DIR` (and long forms), then `NAME=VALUE` words; `-S` keeps it |
//! | `command` | `-p`; `-v`/`-V` only look a name up, so `command -v x` stays whole |
//! | `builtin`, `nohup` | none |
//! | `exec` | `-c` `-l` `-a NAME` |
//! | `time` | `-p` (also as the bash keyword `time [-p]` before a pipeline), GNU `-v -q -a -o FILE -f FMT` |
//! | `timeout` | `-s SIG` `-k DUR` `-v` `--preserve-status` `--foreground`, then the DURATION |
//! | `nice` | `-n N`, `-N`, `--adjustment=N` |
//! | `ionice` | `-c CLASS` `-n LEVEL` `-t`; `-p`/`-P`/`-u` (PIDs, not a command) keep it |
//! | `stdbuf` | `-i MODE` `-o MODE` `-e MODE` |
//! | `setsid` | `-c` `-f` `-w` |
//! | `xargs` | `-0 -r -t -p -x -o`, `-n -L -P -s -I -d -a -E` with a value; `-i`/`-e`/`-l` (optional values) keep it |
//!
//! `sudo`, `doas`, `su`, `chrt`, `taskset`, `watch`, `ssh` and the like are deliberately
//! *not* wrappers: they change who or where the command runs, so a policy must name them.
//!
//! # Order of parts
//!
//! Source order, pre-order: a simple command's part comes first, then the parts of the
//! substitutions inside its words (in the order they appear), then the parts of the
//! script it runs (`-c`, `eval`, `find -exec`). Heredoc bodies sit after the line that
//! opened them, so the parts of an unquoted body's substitutions come when the body is
//! reached: after the commands of that line.
//!
//! # Errors (the request is then denied)
//!
//! Syntax errors (unbalanced quotes, parentheses and keywords, `;;` outside `case`, an
//! unterminated heredoc…), a command name only known at run time (`$cmd x`, `"${x}"rm`,
//! `$(echo rm) -rf /`, `~/bin/$x`, globs `r? -rf /`, `/bin/r*`, brace expansions
//! `{rm,-rf,/}`), a script only known at run time, constructs not supported (`coproc`;
//! extended globs, which bash only enables interactively; `((` or `$((` that is not
//! arithmetic: bash re-reads it as nested subshells, write `( (`; non-ASCII byte escapes
//! in `$'…'`), and the limits: input longer
//! than [`MAX_LEN`] bytes, nesting deeper than [`MAX_DEPTH`], more than [`MAX_PARTS`]
//! parts, and an input with no command at all.
//!
//! # Cost
//!
//! One pass over the bytes, recursive descent with an explicit depth bound, one token of
//! look-ahead and no backtracking. A part that is a contiguous, unchanged slice of the
//! input (the common `git status`) is borrowed, so such a line is split without
//! allocating. Lines of plain words joined by `&&`, `||`, `|`, `;` or `&` take a fast path
//! that returns what the parser would, for one pass over their bytes (tested against the
//! parser exhaustively on short lines). Texts parsed a second time (the script of `sh -c` and `eval`, backtick
//! bodies with escapes) are at most [`MAX_DEPTH`] times the input, so hostile input costs
//! linear time.

#![deny(clippy::indexing_slicing, clippy::string_slice)]

use std::borrow::Cow;

use smallvec::SmallVec;

mod wrappers;

use wrappers::{Role, Strip, WRAPPERS, base_name, role, shell_script, wrapper_len};

/// The simple commands of a command line, normalised, in source order (see the module
/// documentation). Four inline: most lines have one to four parts.
pub(crate) type Parts<'a> = SmallVec<[Cow<'a, str>; 4]>;

/// How deeply constructs may nest: each subshell, group, compound command, function body,
/// substitution (`$( … )`, backticks, `<( … )`, `${ … }`, `$(( … ))`), array literal and
/// script run by `sh -c`/`eval`/`find -exec` is one level. Eight is more than command
/// lines written by people or agents use, and keeps the parser's stack small.
pub(crate) const MAX_DEPTH: usize = 8;

/// The most parts a command line may have. A line running more commands than this is not a
/// single request worth deciding part by part; it is refused.
pub(crate) const MAX_PARTS: usize = 64;

/// The longest command line read, in bytes (64 KiB): enough for heredoc commit messages
/// and generated scripts, small enough that the linear-time split stays cheap.
pub(crate) const MAX_LEN: usize = 64 * 1024;

/// Why a command line cannot be split into its commands. Any of these denies the request:
/// what cannot be read cannot be allowed.
///
/// Byte offsets count from the start of the text being read: the command line itself, or
/// the unquoted script of `sh -c`/`eval` or an escaped backtick body when the error is
/// inside one of those.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// The line has no command: empty, blank, or only comments.
    #[error("no command")]
    Empty,
    /// The line is longer than [`MAX_LEN`] bytes.
    #[error("longer than {MAX_LEN} bytes")]
    TooLong,
    /// Constructs nest deeper than [`MAX_DEPTH`] levels.
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The line runs more than [`MAX_PARTS`] commands.
    #[error("more than {MAX_PARTS} commands")]
    TooManyParts,
    /// A quote, escape, substitution or expansion is not closed before the end of its text.
    #[error("unterminated {what} at byte {at}")]
    Unterminated {
        /// What is open: "single quote", "double quote", "`$'…'` quote", "backquote",
        /// "escape", "`${`", "`$((`"…
        what: &'static str,
        /// Where it opens.
        at: usize,
    },
    /// A heredoc's delimiter line never comes.
    #[error("unterminated heredoc: no line `{delimiter}`")]
    UnterminatedHeredoc {
        /// The delimiter, quotes removed.
        delimiter: String,
    },
    /// A token where the grammar does not allow it (`;;` outside `case`, a stray `)`, `fi`
    /// without `if`…).
    #[error("unexpected `{token}` at byte {at}")]
    Unexpected {
        /// The token as written (`\n` for a newline), shortened if long.
        token: String,
        /// Where it starts.
        at: usize,
    },
    /// The text ends where the grammar needs more.
    #[error("unexpected end of input, expected {expected}")]
    UnexpectedEnd {
        /// What was expected: "a command", "`fi`", "`done`"…
        expected: &'static str,
    },
    /// The name of a simple command is only known at run time (an expansion, a
    /// substitution, a glob or a brace expansion), so its command cannot be decided.
    #[error("the command name of `{command}` is only known at run time")]
    DynamicCommand {
        /// The simple command as written, shortened if long.
        command: String,
    },
    /// The script that `sh -c`, `eval` or similar runs is only known at run time.
    #[error("the script run by `{command}` is only known at run time")]
    DynamicScript {
        /// The simple command as written, shortened if long.
        command: String,
    },
    /// A construct this reader does not support; refused rather than misread.
    #[error("{what} at byte {at} is not supported")]
    Unsupported {
        /// The construct.
        what: &'static str,
        /// Where it starts.
        at: usize,
    },
}

/// Internal results carry the error boxed: one register wide, so the success path of every
/// parsing function stays cheap (errors are rare and end the split).
type Res<T> = Result<T, Box<ShellError>>;

#[cold]
fn err<T>(e: ShellError) -> Res<T> {
    Err(Box::new(e))
}

/// Splits a command line into its simple commands, normalised, in source order.
///
/// Never empty on success: a line with no command is [`ShellError::Empty`].
pub(crate) fn split(cmd: &str) -> Result<Parts<'_>, ShellError> {
    if cmd.len() > MAX_LEN {
        return Err(ShellError::TooLong);
    }
    let mut out = Parts::new();
    tick(cmd.len());
    if plain_lines(cmd, &mut out) {
        return Ok(out);
    }
    parse(cmd, out)
}

/// The parser's split, without the fast path.
fn parse<'a>(cmd: &'a str, mut out: Parts<'a>) -> Result<Parts<'a>, ShellError> {
    // A NUL cannot appear in a shell word; refusing it lets the lexer use 0 as its
    // end-of-text sentinel.
    if cmd.as_bytes().contains(&0) {
        return Err(ShellError::Unsupported {
            what: "a NUL byte",
            at: cmd.bytes().position(|b| b == 0).unwrap_or(0),
        });
    }
    Parser::new(cmd, &mut out, Cow::Borrowed, 0)
        .program()
        .map_err(|e| *e)?;
    if out.is_empty() {
        return Err(ShellError::Empty);
    }
    Ok(out)
}

/// Bytes the word lexer passes over without a look: everything but the blanks, operators,
/// quotes, escapes, expansions and the bytes that make globs, brace expansions and
/// assignments (and NUL, the end sentinel).
// Indexing in a constant: an out-of-bounds index fails the build, it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
static ORDINARY: [bool; 256] = {
    let mut t = [true; 256];
    let special = b" \t\n&|;<>()\\'\"$`*?[]{=\0";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = false;
        i += 1;
    }
    t
};

/// Bytes that mean nothing to the shell inside a word: letters, digits and `_-./:,+@%=`.
// Indexing in a constant: an out-of-bounds index fails the build, it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'_' | b'-' | b'.' | b'/' | b':' | b',' | b'+' | b'@' | b'%' | b'='
            );
        c += 1;
    }
    t
};

/// [`PLAIN`] and the blank and operators of the fast path.
// Indexing in a constant: an out-of-bounds index fails the build, it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
static PLAIN_LINE: [bool; 256] = {
    let mut t = PLAIN;
    t[b' ' as usize] = true;
    t[b'&' as usize] = true;
    t[b'|' as usize] = true;
    t[b';' as usize] = true;
    t
};

fn is_plain(b: u8) -> bool {
    PLAIN.get(usize::from(b)).copied().unwrap_or(false)
}

/// The fast path, for the most common lines: plain words (see [`is_plain`]) one space apart,
/// in simple commands joined by `&&`, `||`, `|`, `;` or `&` (blanks around them are
/// free), where no command starts with a keyword, an assignment, a wrapper or a script
/// runner. Each command is then one part, itself, borrowed: exactly what the parser returns
/// for such a line, for one pass over its bytes. Anything else (or a syntax error) returns
/// `false` with `out` empty, and the parser reads the line.
fn plain_lines<'a>(cmd: &'a str, out: &mut Parts<'a>) -> bool {
    let b = cmd.as_bytes();
    // Most other lines show a quote, `$` or the like early: leave them at once.
    if !b
        .iter()
        .all(|&c| PLAIN_LINE.get(usize::from(c)).copied().unwrap_or(false))
    {
        return false;
    }
    let mut i = 0;
    // A command must follow the previous operator (`&&`, `||`, `|`); after `;` and `&` the
    // line may end instead.
    let mut required = true;
    loop {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        let start = i;
        let mut first = None;
        let mut prev_space = false;
        let mut last = i;
        while let Some(&c) = b.get(i) {
            if c == b' ' {
                prev_space = true;
                first.get_or_insert(i);
            } else if is_plain(c) {
                if prev_space && i != last + 2 {
                    // Two spaces inside a command: its part is not a slice.
                    out.clear();
                    return false;
                }
                prev_space = false;
                last = i;
            } else {
                break;
            }
            i += 1;
        }
        if i == start {
            if required || i < b.len() {
                out.clear();
                return false;
            }
            return true;
        }
        let name = cmd
            .get(start..first.map_or(last + 1, |f| f.min(last + 1)))
            .unwrap_or("");
        // An `=` in the name: an assignment, left to the parser.
        if name.contains('=')
            || keyword(name).is_some()
            || role(base_name(name)) != Role::Other
            || out.len() >= MAX_PARTS
        {
            out.clear();
            return false;
        }
        out.push(Cow::Borrowed(cmd.get(start..=last).unwrap_or("")));
        let (op_len, req) = match (b.get(i), b.get(i + 1)) {
            (None, _) => return true,
            (Some(b'&'), Some(b'&')) | (Some(b'|'), Some(b'|')) => (2, true),
            (Some(b'|'), Some(b'&')) | (Some(b';'), Some(b';' | b'&')) => {
                out.clear();
                return false;
            }
            (Some(b'|'), _) => (1, true),
            (Some(b';' | b'&'), _) => (1, false),
            _ => {
                out.clear();
                return false;
            }
        };
        i += op_len;
        required = req;
    }
}

// Tests count the bytes the splitter looks at (a deterministic measure of work: the
// linear-time property is checked on it, not on a clock). Nothing in other builds.
#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Test builds: the bytes looked at so far on this thread.
#[cfg(test)]
pub(crate) fn work() -> usize {
    WORK.with(std::cell::Cell::get)
}

#[inline(always)]
fn tick(_bytes: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + _bytes));
}

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

/// Operators, as bash reads them (longest match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    AndIf,
    OrIf,
    Semi,
    DSemi,
    SemiAnd,
    DSemiAnd,
    Amp,
    Pipe,
    PipeAmp,
    LParen,
    RParen,
    Less,
    Great,
    DGreat,
    DLess,
    DLessDash,
    TLess,
    LessAnd,
    GreatAnd,
    LessGreat,
    Clobber,
    AndGreat,
    AndDGreat,
}

impl Op {
    const fn as_str(self) -> &'static str {
        match self {
            Self::AndIf => "&&",
            Self::OrIf => "||",
            Self::Semi => ";",
            Self::DSemi => ";;",
            Self::SemiAnd => ";&",
            Self::DSemiAnd => ";;&",
            Self::Amp => "&",
            Self::Pipe => "|",
            Self::PipeAmp => "|&",
            Self::LParen => "(",
            Self::RParen => ")",
            Self::Less => "<",
            Self::Great => ">",
            Self::DGreat => ">>",
            Self::DLess => "<<",
            Self::DLessDash => "<<-",
            Self::TLess => "<<<",
            Self::LessAnd => "<&",
            Self::GreatAnd => ">&",
            Self::LessGreat => "<>",
            Self::Clobber => ">|",
            Self::AndGreat => "&>",
            Self::AndDGreat => "&>>",
        }
    }

    const fn is_redirect(self) -> bool {
        matches!(
            self,
            Self::Less
                | Self::Great
                | Self::DGreat
                | Self::DLess
                | Self::DLessDash
                | Self::TLess
                | Self::LessAnd
                | Self::GreatAnd
                | Self::LessGreat
                | Self::Clobber
                | Self::AndGreat
                | Self::AndDGreat
        )
    }
}

/// Reserved words, recognised only when a whole unquoted word is exactly one of them and it
/// stands where a command may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    If,
    Then,
    Elif,
    Else,
    Fi,
    Do,
    Done,
    Case,
    Esac,
    While,
    Until,
    For,
    Select,
    In,
    LBrace,
    RBrace,
    Bang,
    DLBracket,
    DRBracket,
    Function,
    Time,
    Coproc,
}

fn keyword(t: &str) -> Option<Kw> {
    // Most words are not keywords: reject them on the first byte and the length.
    if t.len() > 8
        || !matches!(
            t.as_bytes().first(),
            Some(
                b'i' | b't'
                    | b'e'
                    | b'f'
                    | b'd'
                    | b'c'
                    | b'w'
                    | b'u'
                    | b's'
                    | b'{'
                    | b'}'
                    | b'!'
                    | b'['
                    | b']'
            )
        )
    {
        return None;
    }
    Some(match t {
        "if" => Kw::If,
        "then" => Kw::Then,
        "elif" => Kw::Elif,
        "else" => Kw::Else,
        "fi" => Kw::Fi,
        "do" => Kw::Do,
        "done" => Kw::Done,
        "case" => Kw::Case,
        "esac" => Kw::Esac,
        "while" => Kw::While,
        "until" => Kw::Until,
        "for" => Kw::For,
        "select" => Kw::Select,
        "in" => Kw::In,
        "{" => Kw::LBrace,
        "}" => Kw::RBrace,
        "!" => Kw::Bang,
        "[[" => Kw::DLBracket,
        "]]" => Kw::DRBracket,
        "function" => Kw::Function,
        "time" => Kw::Time,
        "coproc" => Kw::Coproc,
        _ => return None,
    })
}

/// Word flags.
/// Quotes or escapes were removed: the word is not a keyword.
const QUOTED: u8 = 1;
/// An expansion or substitution outside single quotes: its value is only known at run time.
const DYNAMIC: u8 = 2;
/// An unquoted `*`, `?` or `[…]`: a pathname pattern.
const GLOB: u8 = 4;
/// An unquoted `{`: possibly a brace expansion.
const BRACE: u8 = 8;
/// `NAME=…`, `NAME+=…` or `NAME[…]=…`: an assignment when it leads a command.
const ASSIGN: u8 = 16;
/// An expansion outside any quotes: its value may split into several words.
const SPLIT: u8 = 32;
/// The word may expand to several words (or none).
const MULTI: u8 = SPLIT | GLOB | BRACE;

/// A word's normalised text: a range of the source when unchanged, else owned.
#[derive(Debug)]
enum Text {
    Slice(usize, usize),
    Own(String),
}

#[derive(Debug)]
struct Word {
    /// Source range of the word as written.
    start: usize,
    end: usize,
    text: Text,
    flags: u8,
    /// The reserved word it is, if it stands where a command starts.
    kw: Option<Kw>,
}

#[derive(Debug)]
enum Tok {
    Word(Word),
    /// The digits of `2>`.
    Io(usize, usize),
    Op(Op, usize),
    Newline(usize),
    Eof(usize),
}

/// What the look-ahead token is, without borrowing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    Word { kw: Option<Kw>, flags: u8 },
    Io,
    Op(Op),
    Newline,
    Eof,
}

/// Terminators a list stops at (bit set).
const T_EOF: u32 = 1;
const T_RPAREN: u32 = 1 << 1;
const T_CASE_END: u32 = 1 << 2;
const T_THEN: u32 = 1 << 3;
const T_ELIF: u32 = 1 << 4;
const T_ELSE: u32 = 1 << 5;
const T_FI: u32 = 1 << 6;
const T_DO: u32 = 1 << 7;
const T_DONE: u32 = 1 << 8;
const T_ESAC: u32 = 1 << 9;
const T_RBRACE: u32 = 1 << 10;

fn term_bit(p: P) -> u32 {
    match p {
        P::Eof => T_EOF,
        P::Op(Op::RParen) => T_RPAREN,
        P::Op(Op::DSemi | Op::SemiAnd | Op::DSemiAnd) => T_CASE_END,
        P::Word { kw: Some(kw), .. } => match kw {
            Kw::Then => T_THEN,
            Kw::Elif => T_ELIF,
            Kw::Else => T_ELSE,
            Kw::Fi => T_FI,
            Kw::Do => T_DO,
            Kw::Done => T_DONE,
            Kw::Esac => T_ESAC,
            Kw::RBrace => T_RBRACE,
            _ => 0,
        },
        _ => 0,
    }
}

fn describe(terms: u32) -> &'static str {
    match terms {
        T_RPAREN => "`)`",
        T_THEN => "`then`",
        T_DO => "`do`",
        T_DONE => "`done`",
        T_RBRACE => "`}`",
        t if t & T_FI != 0 => "`fi`",
        t if t & T_ESAC != 0 => "`esac`",
        _ => "a command",
    }
}

/// A heredoc whose body has not been read yet.
#[derive(Debug)]
struct Heredoc {
    delim: Text,
    strip_tabs: bool,
    /// Unquoted delimiter: the body's substitutions run.
    expand: bool,
}

/// Appends redirections as a part spells them: each operator and its target with no
/// space between (`>log`, `2>&1`, `<<EOF` with the delimiter unquoted), one space apart.
fn render_redirs(src: &str, redirs: &[Redir], out: &mut String) {
    for (i, r) in redirs.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Some((a, b)) = r.fd {
            out.push_str(sub(src, a, b));
        }
        out.push_str(r.op.as_str());
        let target = text(src, &r.target);
        // `< <(a)` must not read as the heredoc `<<(a)`.
        if target.starts_with(['<', '>']) {
            out.push(' ');
        }
        out.push_str(target);
    }
}

/// A redirection of a simple command, kept in its part after the words.
#[derive(Debug)]
struct Redir {
    fd: Option<(usize, usize)>,
    op: Op,
    target: Text,
}

fn sub(src: &str, a: usize, b: usize) -> &str {
    src.get(a..b).unwrap_or("")
}

fn text<'t>(src: &'t str, t: &'t Text) -> &'t str {
    match t {
        Text::Slice(a, b) => sub(src, *a, *b),
        Text::Own(s) => s,
    }
}

/// The user text of an error, cut to a readable length at a character boundary.
fn snippet(s: &str) -> String {
    const MAX: usize = 60;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut cut = MAX;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", s.get(..cut).unwrap_or(""))
}

fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

const fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_name(t: &str) -> bool {
    let mut bytes = t.bytes();
    bytes.next().is_some_and(is_name_start) && bytes.all(is_name_byte)
}

/// `NAME`, `NAME+`, `NAME[…]` or `NAME[…]+`: what may precede the `=` of an assignment.
fn is_assignment_lhs(t: &str) -> bool {
    let b = t.strip_suffix('+').unwrap_or(t).as_bytes();
    let name = b.iter().take_while(|&&c| is_name_byte(c)).count();
    if name == 0 || !b.first().copied().is_some_and(is_name_start) {
        return false;
    }
    match b.get(name..) {
        Some([]) => true,
        // `NAME[…]`: a subscript up to the end.
        Some([b'[', .., b']']) => true,
        _ => false,
    }
}

/// The normalised text of a word being lexed: `own` (once something was removed or
/// decoded) followed by the source bytes from `run` to the current position.
struct WordBuf {
    start: usize,
    run: usize,
    own: Option<String>,
    flags: u8,
    /// Only unquoted literal bytes so far (an assignment needs that before its `=`).
    plain: bool,
    /// The first unquoted `=` was seen.
    eq_seen: bool,
    /// Where the first unquoted `=` is (an array literal must follow it directly).
    eq_at: usize,
    /// An unquoted `[` was seen (a `]` after it makes a glob).
    bracket: bool,
}

impl WordBuf {
    const fn new(start: usize) -> Self {
        Self {
            start,
            run: start,
            own: None,
            flags: 0,
            plain: true,
            eq_seen: false,
            eq_at: 0,
            bracket: false,
        }
    }

    /// Replaces source bytes `x..y` by `with` in the normalised text.
    fn replace(&mut self, src: &str, x: usize, y: usize, with: &str) {
        let own = self.own.get_or_insert_with(String::new);
        own.push_str(sub(src, self.run, x));
        own.push_str(with);
        self.run = y;
    }

    /// Removes source bytes `x..y` from the normalised text.
    fn drop(&mut self, src: &str, x: usize, y: usize) {
        self.replace(src, x, y, "");
    }

    /// The word; `classify`: whether it may stand where a keyword is recognised (words
    /// after a command name never do, and skip the check).
    fn finish(mut self, src: &str, end: usize, classify: bool) -> Word {
        let (text, kw) = match self.own.take() {
            Some(mut own) => {
                own.push_str(sub(src, self.run, end));
                (Text::Own(own), None)
            }
            None => {
                // Quoted or escaped words are never keywords (their text is then owned, or
                // flagged); an unchanged plain word may be.
                let kw = if classify && self.flags & (QUOTED | DYNAMIC) == 0 {
                    keyword(sub(src, self.start, end))
                } else {
                    None
                };
                (Text::Slice(self.start, end), kw)
            }
        };
        Word {
            start: self.start,
            end,
            text,
            flags: self.flags,
            kw,
        }
    }
}

/// Decodes the inside of `$'…'` into `out`. Returns an error for byte escapes that are not
/// ASCII (they would not be UTF-8 text) and for invalid code points; a NUL ends the string,
/// as in bash.
fn decode_ansi_c(raw: &str, out: &mut String, at: usize) -> Res<()> {
    let mut chars = raw.chars().peekable();
    let digits = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, radix: u32, max: usize| {
        let mut v = 0u32;
        let mut n = 0;
        while n < max {
            match chars.peek().and_then(|c| c.to_digit(radix)) {
                Some(d) => {
                    v = v * radix + d;
                    n += 1;
                    chars.next();
                }
                None => break,
            }
        }
        (v, n)
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let (v, byte) = match e {
            'a' => (7, false),
            'b' => (8, false),
            'e' | 'E' => (27, false),
            'f' => (12, false),
            'n' => (10, false),
            'r' => (13, false),
            't' => (9, false),
            'v' => (11, false),
            '\\' | '\'' | '"' | '?' => (e as u32, false),
            '0'..='7' => {
                let (rest, n) = digits(&mut chars, 8, 2);
                let first = e.to_digit(8).unwrap_or(0);
                (first * 8u32.pow(n as u32) + rest, true)
            }
            'x' | 'u' | 'U' => {
                let max = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let (v, n) = digits(&mut chars, 16, max);
                if n == 0 {
                    out.push('\\');
                    out.push(e);
                    continue;
                }
                (v, e == 'x')
            }
            'c' => match chars.next() {
                Some(x) => ((x as u32) & 0x1f, false),
                None => {
                    out.push_str("\\c");
                    continue;
                }
            },
            other => {
                out.push('\\');
                out.push(other);
                continue;
            }
        };
        if v == 0 {
            break;
        }
        if byte && v > 0x7f {
            return err(ShellError::Unsupported {
                what: "a non-ASCII byte escape in `$'…'`",
                at,
            });
        }
        match char::from_u32(v) {
            Some(ch) => out.push(ch),
            None => {
                return err(ShellError::Unsupported {
                    what: "an invalid code point in `$'…'`",
                    at,
                });
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The parser
// ---------------------------------------------------------------------------------------

/// Recursive descent over `src[pos..end]`, writing parts to `out`.
///
/// `'s` is the text being read and `'a` the command line the parts borrow from: for the
/// line itself (and in-place sub-ranges of it) `mk` borrows, for derived texts (an escaped
/// backtick body, a script assembled from several words) it copies. One parser type for
/// both keeps the recursion monomorphic.
struct Parser<'s, 'a, 'o> {
    src: &'s str,
    /// The bytes being read: `src[..end]`.
    b: &'s [u8],
    pos: usize,
    end: usize,
    depth: usize,
    peeked: Option<Tok>,
    /// What `peeked` is (valid while it is `Some`).
    la: P,
    /// How many parts there were before the look-ahead token was lexed: a command's part
    /// goes there, before the parts of the substitutions in its first word.
    peeked_slot: usize,
    heredocs: SmallVec<[Heredoc; 1]>,
    out: &'o mut Parts<'a>,
    mk: fn(&'s str) -> Cow<'a, str>,
}

impl<'s, 'a, 'o> Parser<'s, 'a, 'o> {
    fn new(
        src: &'s str,
        out: &'o mut Parts<'a>,
        mk: fn(&'s str) -> Cow<'a, str>,
        depth: usize,
    ) -> Self {
        Self {
            src,
            b: src.as_bytes(),
            pos: 0,
            end: src.len(),
            depth,
            peeked: None,
            la: P::Eof,
            peeked_slot: 0,
            heredocs: SmallVec::new(),
            out,
            mk,
        }
    }

    /// A parser over `src[from..to]` of the same text, writing to the same parts.
    fn range(&mut self, from: usize, to: usize) -> Parser<'s, 'a, '_> {
        Parser {
            src: self.src,
            b: self.src.as_bytes().get(..to).unwrap_or(&[]),
            pos: from,
            end: to,
            depth: self.depth,
            peeked: None,
            la: P::Eof,
            peeked_slot: 0,
            heredocs: SmallVec::new(),
            out: &mut *self.out,
            mk: self.mk,
        }
    }

    /// Parses `script` (a derived text) one level deeper; its parts are copied.
    fn derived(&mut self, script: &str) -> Res<()> {
        // Decoding never yields a NUL (it ends a `$'…'` string), but the lexer reads 0 as
        // the end of the text: refuse rather than stop early.
        if script.as_bytes().contains(&0) {
            return err(ShellError::Unsupported {
                what: "a NUL byte",
                at: script.bytes().position(|b| b == 0).unwrap_or(0),
            });
        }
        let mut p = Parser::new(
            script,
            &mut *self.out,
            |t: &str| Cow::Owned(t.to_owned()),
            self.depth,
        );
        p.enter()?;
        p.program()
    }

    /// The byte at `i`, or 0 at and after the end of the text being read.
    #[inline]
    fn at(&self, i: usize) -> u8 {
        tick(1);
        self.b.get(i).copied().unwrap_or(0)
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(ShellError::TooDeep);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn push_part(&mut self, slot: usize, part: Cow<'a, str>) -> Res<()> {
        if self.out.len() >= MAX_PARTS {
            return err(ShellError::TooManyParts);
        }
        if slot < self.out.len() {
            self.out.insert(slot, part);
        } else {
            self.out.push(part);
        }
        Ok(())
    }

    // -- lexer ----------------------------------------------------------------------------

    /// What the next token is, lexing it if needed (`array_ok`: `NAME=(` starts an array,
    /// which only assignments before a command name may).
    #[inline]
    fn peek(&mut self, array_ok: bool) -> Res<P> {
        if self.peeked.is_none() {
            self.fill(array_ok)?;
        }
        Ok(self.la)
    }

    fn fill(&mut self, array_ok: bool) -> Res<()> {
        // Taken before lexing: the substitutions of the token push their parts (and lex
        // tokens of their own) while it is lexed.
        let slot = self.out.len();
        let t = self.lex(array_ok)?;
        self.peeked_slot = slot;
        self.put_back(t);
        Ok(())
    }

    /// Makes `t` the look-ahead token.
    fn put_back(&mut self, t: Tok) {
        self.la = match &t {
            Tok::Word(w) => P::Word {
                kw: w.kw,
                flags: w.flags,
            },
            Tok::Io(..) => P::Io,
            Tok::Op(op, _) => P::Op(*op),
            Tok::Newline(_) => P::Newline,
            Tok::Eof(_) => P::Eof,
        };
        self.peeked = Some(t);
    }

    fn next(&mut self, array_ok: bool) -> Res<Tok> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(array_ok),
        }
    }

    /// Drops the look-ahead token (after `peek` said what it is).
    fn bump(&mut self) {
        self.peeked = None;
    }

    fn peeked_text(&self) -> Option<&str> {
        match &self.peeked {
            Some(Tok::Word(w)) => Some(text(self.src, &w.text)),
            _ => None,
        }
    }

    /// The error for the look-ahead token.
    fn unexpected(&self, expected: &'static str) -> ShellError {
        let (token, at) = match &self.peeked {
            Some(Tok::Word(w)) => (snippet(sub(self.src, w.start, w.end)), w.start),
            Some(Tok::Io(a, b)) => (sub(self.src, *a, *b).to_owned(), *a),
            Some(Tok::Op(op, at)) => (op.as_str().to_owned(), *at),
            Some(Tok::Newline(at)) => ("\\n".to_owned(), *at),
            Some(Tok::Eof(_)) | None => return ShellError::UnexpectedEnd { expected },
        };
        ShellError::Unexpected { token, at }
    }

    fn lex(&mut self, array_ok: bool) -> Res<Tok> {
        loop {
            match self.at(self.pos) {
                b' ' | b'\t' => self.pos += 1,
                b'\\' if self.at(self.pos + 1) == b'\n' => self.pos += 2,
                b'#' => {
                    while !matches!(self.at(self.pos), b'\n' | 0) {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let at = self.pos;
        let (op, len) = match self.at(at) {
            0 => {
                if let Some(h) = self.heredocs.first() {
                    return err(ShellError::UnterminatedHeredoc {
                        delimiter: text(self.src, &h.delim).to_owned(),
                    });
                }
                return Ok(Tok::Eof(at));
            }
            b'\n' => {
                self.pos += 1;
                self.read_heredocs()?;
                return Ok(Tok::Newline(at));
            }
            b'&' => match self.at(at + 1) {
                b'&' => (Op::AndIf, 2),
                b'>' if self.at(at + 2) == b'>' => (Op::AndDGreat, 3),
                b'>' => (Op::AndGreat, 2),
                _ => (Op::Amp, 1),
            },
            b'|' => match self.at(at + 1) {
                b'|' => (Op::OrIf, 2),
                b'&' => (Op::PipeAmp, 2),
                _ => (Op::Pipe, 1),
            },
            b';' => match (self.at(at + 1), self.at(at + 2)) {
                (b';', b'&') => (Op::DSemiAnd, 3),
                (b';', _) => (Op::DSemi, 2),
                (b'&', _) => (Op::SemiAnd, 2),
                _ => (Op::Semi, 1),
            },
            b'(' => (Op::LParen, 1),
            b')' => (Op::RParen, 1),
            b'<' => match (self.at(at + 1), self.at(at + 2)) {
                (b'(', _) => return self.process_substitution(),
                (b'<', b'<') => (Op::TLess, 3),
                (b'<', b'-') => (Op::DLessDash, 3),
                (b'<', _) => (Op::DLess, 2),
                (b'&', _) => (Op::LessAnd, 2),
                (b'>', _) => (Op::LessGreat, 2),
                _ => (Op::Less, 1),
            },
            b'>' => match self.at(at + 1) {
                b'(' => return self.process_substitution(),
                b'>' => (Op::DGreat, 2),
                b'&' => (Op::GreatAnd, 2),
                b'|' => (Op::Clobber, 2),
                _ => (Op::Great, 1),
            },
            _ => {
                let w = self.word(array_ok, true)?;
                if matches!(self.at(self.pos), b'<' | b'>')
                    && w.flags == 0
                    && w.src_is_text()
                    && sub(self.src, w.start, w.end)
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                {
                    return Ok(Tok::Io(w.start, w.end));
                }
                return Ok(Tok::Word(w));
            }
        };
        self.pos = at + len;
        Ok(Tok::Op(op, at))
    }

    /// `<( … )` or `>( … )`: a word whose commands are parts.
    fn process_substitution(&mut self) -> Res<Tok> {
        let start = self.pos;
        self.pos += 2;
        self.enter()?;
        let n = self.subst_list(start)?;
        if n == 0 {
            return err(ShellError::Unexpected {
                token: ")".to_owned(),
                at: self.pos.saturating_sub(1),
            });
        }
        self.leave();
        Ok(Tok::Word(Word {
            start,
            end: self.pos,
            text: Text::Slice(start, self.pos),
            flags: DYNAMIC,
            kw: None,
        }))
    }

    /// The list of a `$( … )`/`<( … )` from just after its `(`, through its `)`, with its
    /// own heredocs. Returns how many commands it has.
    fn subst_list(&mut self, open: usize) -> Res<usize> {
        let saved = std::mem::take(&mut self.heredocs);
        let n = self.list(T_RPAREN)?;
        match self.next(false)? {
            Tok::Op(Op::RParen, _) => {}
            _ => {
                return err(ShellError::Unterminated {
                    what: "`$(`",
                    at: open,
                });
            }
        }
        if let Some(h) = self.heredocs.first() {
            return err(ShellError::UnterminatedHeredoc {
                delimiter: text(self.src, &h.delim).to_owned(),
            });
        }
        self.heredocs = saved;
        Ok(n)
    }

    /// Reads the bodies of the pending heredocs, which start right after a newline token.
    fn read_heredocs(&mut self) -> Res<()> {
        if self.heredocs.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.heredocs);
        for h in &pending {
            let delim = text(self.src, &h.delim).as_bytes();
            let body = self.pos;
            let mut line = self.pos;
            let (body_end, next) = loop {
                let bytes = self.src.as_bytes();
                let eol = bytes
                    .get(line..self.end)
                    .and_then(|r| r.iter().position(|&b| b == b'\n'))
                    .map_or(self.end, |i| line + i);
                tick(eol + 1 - line);
                let mut l = bytes.get(line..eol).unwrap_or(&[]);
                if h.strip_tabs {
                    while let [b'\t', rest @ ..] = l {
                        l = rest;
                    }
                }
                if l == delim {
                    break (line, (eol + 1).min(self.end));
                }
                if eol >= self.end {
                    return err(ShellError::UnterminatedHeredoc {
                        delimiter: snippet(text(self.src, &h.delim)),
                    });
                }
                line = eol + 1;
            };
            if h.expand {
                self.range(body, body_end).heredoc_body()?;
            }
            self.pos = next;
        }
        Ok(())
    }

    /// Scans an unquoted heredoc body for the substitutions that run (`'` and `"` are
    /// literal there).
    fn heredoc_body(&mut self) -> Res<()> {
        loop {
            match self.at(self.pos) {
                0 => return Ok(()),
                b'\\' => self.pos += 2,
                b'$' => self.dollar(None, true)?,
                b'`' => self.backtick()?,
                _ => self.pos += 1,
            }
        }
    }

    /// Lexes one word from the current position (`classify`: see [`WordBuf::finish`]).
    fn word(&mut self, array_ok: bool, classify: bool) -> Res<Word> {
        let start = self.pos;
        // Fast path: a word that is exactly one quoted string without escapes or
        // expansions is a slice of the source (a `bash -c '…'` script is then read in
        // place and its parts are borrowed).
        if let q @ (b'\'' | b'"') = self.at(start) {
            let mut i = start + 1;
            loop {
                match self.at(i) {
                    0 => break,
                    b'\\' | b'$' | b'`' if q == b'"' => break,
                    c if c == q => {
                        if matches!(
                            self.at(i + 1),
                            0 | b' '
                                | b'\t'
                                | b'\n'
                                | b'&'
                                | b'|'
                                | b';'
                                | b'<'
                                | b'>'
                                | b'('
                                | b')'
                        ) {
                            self.pos = i + 1;
                            return Ok(Word {
                                start,
                                end: i + 1,
                                text: Text::Slice(start + 1, i),
                                flags: QUOTED,
                                kw: None,
                            });
                        }
                        break;
                    }
                    _ => i += 1,
                }
            }
        }
        let mut w = WordBuf::new(start);
        loop {
            // Skip the bytes that need no attention in one tight loop.
            while let Some(&c) = self.b.get(self.pos) {
                if !ORDINARY.get(usize::from(c)).copied().unwrap_or(false) {
                    break;
                }
                tick(1);
                self.pos += 1;
            }
            let c = self.at(self.pos);
            match c {
                0 | b' ' | b'\t' | b'\n' | b'&' | b'|' | b';' | b'<' | b'>' | b')' => break,
                b'(' => {
                    if array_ok && w.flags & ASSIGN != 0 && w.eq_at + 1 == self.pos {
                        self.array(&mut w)?;
                        continue;
                    }
                    break;
                }
                b'\\' => match self.at(self.pos + 1) {
                    0 => {
                        return err(ShellError::Unterminated {
                            what: "escape",
                            at: self.pos,
                        });
                    }
                    b'\n' => {
                        w.drop(self.src, self.pos, self.pos + 2);
                        self.pos += 2;
                    }
                    n => {
                        w.drop(self.src, self.pos, self.pos + 1);
                        self.pos += 1 + utf8_len(n);
                        w.flags |= QUOTED;
                        w.plain = false;
                    }
                },
                b'\'' => {
                    let close = self.single_quote_end(self.pos)?;
                    w.drop(self.src, self.pos, self.pos + 1);
                    w.drop(self.src, close, close + 1);
                    self.pos = close + 1;
                    w.flags |= QUOTED;
                    w.plain = false;
                }
                b'"' => {
                    w.plain = false;
                    w.flags |= QUOTED;
                    self.double_quote(Some(&mut w))?;
                }
                b'$' => {
                    w.plain = false;
                    self.dollar(Some(&mut w), false)?;
                }
                b'`' => {
                    w.plain = false;
                    w.flags |= DYNAMIC | SPLIT;
                    self.backtick()?;
                }
                b'*' | b'?' => {
                    w.flags |= GLOB;
                    self.pos += 1;
                }
                b'[' => {
                    w.bracket = true;
                    self.pos += 1;
                }
                b']' => {
                    if w.bracket {
                        w.flags |= GLOB;
                    }
                    self.pos += 1;
                }
                b'{' => {
                    w.flags |= BRACE;
                    self.pos += 1;
                }
                b'=' => {
                    if !w.eq_seen {
                        w.eq_seen = true;
                        w.eq_at = self.pos;
                        if w.plain && is_assignment_lhs(sub(self.src, start, self.pos)) {
                            w.flags |= ASSIGN;
                            // `a[0]=x` is not a glob.
                            w.flags &= !GLOB;
                        }
                    }
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
        Ok(w.finish(self.src, self.pos, classify))
    }

    /// `NAME=( … )`: the elements are words; the text is `NAME=(e1 e2 …)`.
    fn array(&mut self, w: &mut WordBuf) -> Res<()> {
        let open = self.pos;
        self.enter()?;
        w.replace(self.src, open, open + 1, "(");
        self.pos += 1;
        let mut first = true;
        loop {
            match self.at(self.pos) {
                b' ' | b'\t' => self.pos += 1,
                // A newline would end the line a pending heredoc waits for: not supported.
                b'\n' if self.heredocs.is_empty() => self.pos += 1,
                b'\\' if self.at(self.pos + 1) == b'\n' => self.pos += 2,
                b'#' => {
                    while !matches!(self.at(self.pos), b'\n' | 0) {
                        self.pos += 1;
                    }
                }
                b')' => {
                    self.pos += 1;
                    if let Some(own) = w.own.as_mut() {
                        own.push(')');
                    }
                    break;
                }
                0 => return err(ShellError::UnexpectedEnd { expected: "`)`" }),
                b'&' | b'|' | b';' | b'<' | b'>' | b'(' | b'\n' => {
                    return err(ShellError::Unexpected {
                        token: snippet(sub(self.src, self.pos, self.pos + 1)),
                        at: self.pos,
                    });
                }
                _ => {
                    let e = self.word(false, false)?;
                    let own = w.own.get_or_insert_with(String::new);
                    if !first {
                        own.push(' ');
                    }
                    own.push_str(text(self.src, &e.text));
                    first = false;
                }
            }
        }
        w.run = self.pos;
        self.leave();
        Ok(())
    }

    fn single_quote_end(&self, open: usize) -> Res<usize> {
        let bytes = self.src.as_bytes();
        bytes
            .get(open + 1..self.end)
            .and_then(|r| r.iter().position(|&b| b == b'\''))
            .map(|i| {
                tick(i + 1);
                open + 1 + i
            })
            .ok_or_else(|| {
                Box::new(ShellError::Unterminated {
                    what: "single quote",
                    at: open,
                })
            })
    }

    /// A double-quoted string from its opening quote; removes the quotes and the escapes
    /// of `\$ \` \" \\ \newline` from `w` (when given), keeps expansions as written.
    fn double_quote(&mut self, mut w: Option<&mut WordBuf>) -> Res<()> {
        let open = self.pos;
        if let Some(w) = w.as_deref_mut() {
            w.drop(self.src, open, open + 1);
        }
        self.pos += 1;
        loop {
            match self.at(self.pos) {
                0 => {
                    return err(ShellError::Unterminated {
                        what: "double quote",
                        at: open,
                    });
                }
                b'"' => {
                    if let Some(w) = w.as_deref_mut() {
                        w.drop(self.src, self.pos, self.pos + 1);
                    }
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => match self.at(self.pos + 1) {
                    b'$' | b'`' | b'"' | b'\\' | b'\n' => {
                        let nl = self.at(self.pos + 1) == b'\n';
                        if let Some(w) = w.as_deref_mut() {
                            w.drop(
                                self.src,
                                self.pos,
                                if nl { self.pos + 2 } else { self.pos + 1 },
                            );
                        }
                        self.pos += 2;
                    }
                    _ => self.pos += 1,
                },
                b'$' => self.dollar(w.as_deref_mut(), true)?,
                b'`' => {
                    if let Some(w) = w.as_deref_mut() {
                        w.flags |= DYNAMIC;
                    }
                    self.backtick_in(true)?;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A `$` from its position: an expansion (kept as written, marks the word dynamic), a
    /// substitution (its commands are parts), `$'…'`/`$"…"` quoting, or a literal `$`.
    fn dollar(&mut self, mut w: Option<&mut WordBuf>, in_dq: bool) -> Res<()> {
        let at = self.pos;
        let mut dynamic = true;
        match self.at(at + 1) {
            b'(' if self.at(at + 2) == b'(' => {
                self.pos += 3;
                self.arithmetic(at)?;
            }
            b'(' => {
                self.pos += 2;
                self.enter()?;
                self.subst_list(at)?;
                self.leave();
            }
            b'{' => {
                self.pos += 2;
                self.brace_param(at)?;
            }
            b'[' => {
                self.pos += 2;
                self.enter()?;
                let mut depth = 1usize;
                while depth > 0 {
                    match self.at(self.pos) {
                        0 => {
                            return err(ShellError::Unterminated { what: "`$[`", at });
                        }
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        _ => {}
                    }
                    self.pos += 1;
                }
                self.leave();
            }
            b if is_name_start(b) => {
                self.pos += 2;
                while is_name_byte(self.at(self.pos)) {
                    self.pos += 1;
                }
            }
            b'0'..=b'9' | b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-' => self.pos += 2,
            b'\'' if !in_dq && w.is_some() => {
                let close = self.ansi_c_end(at)?;
                let mut decoded = String::new();
                decode_ansi_c(sub(self.src, at + 2, close), &mut decoded, at)?;
                if let Some(w) = w.as_deref_mut() {
                    w.replace(self.src, at, close + 1, &decoded);
                    w.flags |= QUOTED;
                }
                self.pos = close + 1;
                dynamic = false;
            }
            b'\'' if !in_dq => {
                self.pos = self.ansi_c_end(at)? + 1;
                dynamic = false;
            }
            b'"' if !in_dq => {
                if let Some(w) = w.as_deref_mut() {
                    w.drop(self.src, at, at + 1);
                    w.flags |= QUOTED;
                }
                self.pos += 1;
                self.double_quote(w.as_deref_mut())?;
                dynamic = false;
            }
            _ => {
                self.pos += 1;
                dynamic = false;
            }
        }
        if dynamic && let Some(w) = w {
            w.flags |= if in_dq { DYNAMIC } else { DYNAMIC | SPLIT };
        }
        Ok(())
    }

    fn ansi_c_end(&self, at: usize) -> Res<usize> {
        let mut i = at + 2;
        loop {
            match self.at(i) {
                0 => {
                    return err(ShellError::Unterminated {
                        what: "`$'…'` quote",
                        at,
                    });
                }
                b'\\' => i += 2,
                b'\'' => return Ok(i),
                _ => i += 1,
            }
        }
    }

    /// `${ … }` after its `{`: scanned to the matching `}`, with the substitutions inside.
    fn brace_param(&mut self, at: usize) -> Res<()> {
        self.enter()?;
        loop {
            match self.at(self.pos) {
                0 => return err(ShellError::Unterminated { what: "`${`", at }),
                b'}' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    if self.at(self.pos + 1) == 0 {
                        return err(ShellError::Unterminated { what: "`${`", at });
                    }
                    self.pos += 2;
                }
                b'\'' => self.pos = self.single_quote_end(self.pos)? + 1,
                b'"' => self.double_quote(None)?,
                b'$' => self.dollar(None, false)?,
                b'`' => self.backtick()?,
                _ => self.pos += 1,
            }
        }
        self.leave();
        Ok(())
    }

    /// An arithmetic expression after `$((` or `((`, through its `))`.
    fn arithmetic(&mut self, at: usize) -> Res<()> {
        self.enter()?;
        let mut parens = 0usize;
        loop {
            match self.at(self.pos) {
                0 => return err(ShellError::Unterminated { what: "`((`", at }),
                b'(' => {
                    parens += 1;
                    self.pos += 1;
                }
                b')' if parens > 0 => {
                    parens -= 1;
                    self.pos += 1;
                }
                b')' if self.at(self.pos + 1) == b')' => {
                    self.pos += 2;
                    break;
                }
                b')' => {
                    return err(ShellError::Unsupported {
                        what: "`((` that is not arithmetic (write `( (`)",
                        at,
                    });
                }
                b'\\' => {
                    if self.at(self.pos + 1) == 0 {
                        return err(ShellError::Unterminated { what: "`((`", at });
                    }
                    self.pos += 2;
                }
                b'\'' => self.pos = self.single_quote_end(self.pos)? + 1,
                b'"' => self.double_quote(None)?,
                b'$' => self.dollar(None, false)?,
                b'`' => self.backtick()?,
                _ => self.pos += 1,
            }
        }
        self.leave();
        Ok(())
    }

    /// A backquoted substitution from its opening backquote: its body (with `\\`, `` \` ``
    /// and `\$` unescaped) is parsed one level deeper.
    fn backtick(&mut self) -> Res<()> {
        self.backtick_in(false)
    }

    /// A backquoted substitution; inside double quotes (`in_dq`) `\"` is unescaped too.
    fn backtick_in(&mut self, in_dq: bool) -> Res<()> {
        let open = self.pos;
        let mut i = open + 1;
        let mut escaped = false;
        loop {
            match self.at(i) {
                0 => {
                    return err(ShellError::Unterminated {
                        what: "backquote",
                        at: open,
                    });
                }
                b'\\' => {
                    if self.at(i + 1) == 0 {
                        return err(ShellError::Unterminated {
                            what: "backquote",
                            at: open,
                        });
                    }
                    escaped = true;
                    i += 2;
                }
                b'`' => break,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        if escaped {
            let body = sub(self.src, open + 1, i);
            let mut s = String::with_capacity(body.len());
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some(e @ ('\\' | '`' | '$')) => s.push(e),
                        Some('"') if in_dq => s.push('"'),
                        Some('\n') => {}
                        Some(e) => {
                            s.push('\\');
                            s.push(e);
                        }
                        None => s.push('\\'),
                    }
                } else {
                    s.push(c);
                }
            }
            self.derived(&s)
        } else {
            let mut p = self.range(open + 1, i);
            p.enter()?;
            p.program()
        }
    }

    // -- grammar --------------------------------------------------------------------------

    /// A whole text: a list up to the end, no heredoc left open.
    fn program(&mut self) -> Res<()> {
        self.list(T_EOF)?;
        Ok(())
    }

    fn newlines(&mut self) -> Res<()> {
        while self.peek(true)? == P::Newline {
            self.bump();
        }
        Ok(())
    }

    /// A list of and-or lists separated by `;`, `&` and newlines, up to one of `terms`
    /// (left as the look-ahead). Returns how many and-or lists it has.
    fn list(&mut self, terms: u32) -> Res<usize> {
        let mut n = 0;
        loop {
            self.newlines()?;
            let p = self.peek(true)?;
            if term_bit(p) & terms != 0 {
                return Ok(n);
            }
            if p == P::Eof {
                return err(ShellError::UnexpectedEnd {
                    expected: describe(terms),
                });
            }
            self.and_or()?;
            n += 1;
            match self.peek(false)? {
                P::Op(Op::Semi | Op::Amp) => self.bump(),
                P::Newline => {}
                p if term_bit(p) & terms != 0 => return Ok(n),
                P::Eof => {
                    return err(ShellError::UnexpectedEnd {
                        expected: describe(terms),
                    });
                }
                _ => return err(self.unexpected("a command")),
            }
        }
    }

    fn and_or(&mut self) -> Res<()> {
        self.pipeline()?;
        while let P::Op(Op::AndIf | Op::OrIf) = self.peek(false)? {
            self.bump();
            self.newlines()?;
            self.pipeline()?;
        }
        Ok(())
    }

    fn pipeline(&mut self) -> Res<()> {
        let mut prefix = false;
        if let P::Word {
            kw: Some(Kw::Time), ..
        } = self.peek(true)?
        {
            self.bump();
            prefix = true;
            self.peek(true)?;
            if self.peeked_text() == Some("-p") {
                self.bump();
            }
        }
        while let P::Word {
            kw: Some(Kw::Bang), ..
        } = self.peek(true)?
        {
            self.bump();
            prefix = true;
        }
        if prefix {
            // `time` or `!` alone is an empty pipeline.
            match self.peek(true)? {
                P::Eof | P::Newline => return Ok(()),
                P::Op(op) if !op.is_redirect() && op != Op::LParen => return Ok(()),
                p if term_bit(p) != 0 => return Ok(()),
                _ => {}
            }
        }
        self.command()?;
        while let P::Op(Op::Pipe | Op::PipeAmp) = self.peek(false)? {
            self.bump();
            self.newlines()?;
            self.command()?;
        }
        Ok(())
    }

    fn command(&mut self) -> Res<()> {
        match self.peek(true)? {
            P::Word { kw: Some(kw), .. } => match kw {
                Kw::If
                | Kw::While
                | Kw::Until
                | Kw::For
                | Kw::Select
                | Kw::Case
                | Kw::LBrace
                | Kw::DLBracket => {
                    self.compound()?;
                    self.redirects()
                }
                Kw::Function => self.function_keyword(),
                Kw::Time => self.simple(),
                Kw::Coproc => err(ShellError::Unsupported {
                    what: "`coproc`",
                    at: self.token_start(),
                }),
                _ => err(self.unexpected("a command")),
            },
            P::Word { .. } | P::Io => self.simple(),
            P::Op(op) if op.is_redirect() => self.simple(),
            P::Op(Op::LParen) => {
                self.compound()?;
                self.redirects()
            }
            _ => err(self.unexpected("a command")),
        }
    }

    fn token_start(&self) -> usize {
        match &self.peeked {
            Some(Tok::Word(w)) => w.start,
            Some(Tok::Io(a, _) | Tok::Op(_, a) | Tok::Newline(a) | Tok::Eof(a)) => *a,
            None => self.pos,
        }
    }

    /// Redirections after a compound command: dropped, but their heredocs and
    /// substitutions count.
    fn redirects(&mut self) -> Res<()> {
        loop {
            match self.peek(false)? {
                P::Io => {}
                P::Op(op) if op.is_redirect() => {}
                _ => return Ok(()),
            }
            self.redirect()?;
        }
    }

    fn redirect(&mut self) -> Res<Redir> {
        let fd = match self.next(false)? {
            Tok::Io(a, b) => {
                self.peek(false)?;
                Some((a, b))
            }
            t => {
                self.put_back(t);
                None
            }
        };
        let op = match self.peek(false)? {
            P::Op(op) if op.is_redirect() => op,
            _ => return err(self.unexpected("a redirection")),
        };
        self.bump();
        // The target may be digits before another redirection (`2>&1>log`).
        let target = match self.peek(false)? {
            P::Word { .. } | P::Io => match self.next(false)? {
                Tok::Word(w) => w,
                Tok::Io(a, b) => Word {
                    start: a,
                    end: b,
                    text: Text::Slice(a, b),
                    flags: 0,
                    kw: None,
                },
                _ => return err(self.unexpected("a word")),
            },
            _ => return err(self.unexpected("a word")),
        };
        if matches!(op, Op::DLess | Op::DLessDash) {
            // A quoted delimiter (any quote or escape) makes the body literal.
            let quoted = target.flags & QUOTED != 0;
            let delim = match &target.text {
                Text::Slice(a, b) => Text::Slice(*a, *b),
                Text::Own(s) => Text::Own(s.clone()),
            };
            self.heredocs.push(Heredoc {
                delim,
                strip_tabs: op == Op::DLessDash,
                expand: !quoted,
            });
        }
        Ok(Redir {
            fd,
            op,
            target: target.text,
        })
    }

    fn compound(&mut self) -> Res<()> {
        self.enter()?;
        match self.peek(true)? {
            P::Op(Op::LParen) => {
                self.bump();
                if self.at(self.pos) == b'(' {
                    let at = self.pos - 1;
                    self.pos += 1;
                    self.arithmetic(at)?;
                } else {
                    self.nonempty_list(T_RPAREN)?;
                    self.bump();
                }
            }
            P::Word { kw: Some(kw), .. } => {
                self.bump();
                match kw {
                    Kw::LBrace => {
                        self.nonempty_list(T_RBRACE)?;
                        self.bump();
                    }
                    Kw::If => self.if_clause()?,
                    Kw::While | Kw::Until => {
                        self.nonempty_list(T_DO)?;
                        self.bump();
                        self.nonempty_list(T_DONE)?;
                        self.bump();
                    }
                    Kw::For | Kw::Select => self.for_clause()?,
                    Kw::Case => self.case_clause()?,
                    Kw::DLBracket => self.test_clause()?,
                    _ => return err(self.unexpected("a command")),
                }
            }
            _ => return err(self.unexpected("a compound command")),
        }
        self.leave();
        Ok(())
    }

    /// A list that must have at least one command; its terminator is left as look-ahead.
    fn nonempty_list(&mut self, terms: u32) -> Res<()> {
        if self.list(terms)? == 0 {
            return err(self.unexpected(describe(terms)));
        }
        Ok(())
    }

    fn if_clause(&mut self) -> Res<()> {
        self.nonempty_list(T_THEN)?;
        self.bump();
        self.nonempty_list(T_ELIF | T_ELSE | T_FI)?;
        loop {
            match self.peek(true)? {
                P::Word {
                    kw: Some(Kw::Elif), ..
                } => {
                    self.bump();
                    self.nonempty_list(T_THEN)?;
                    self.bump();
                    self.nonempty_list(T_ELIF | T_ELSE | T_FI)?;
                }
                P::Word {
                    kw: Some(Kw::Else), ..
                } => {
                    self.bump();
                    self.nonempty_list(T_FI)?;
                    self.bump();
                    return Ok(());
                }
                _ => {
                    self.bump();
                    return Ok(());
                }
            }
        }
    }

    fn for_clause(&mut self) -> Res<()> {
        if self.peek(false)? == P::Op(Op::LParen) && self.at(self.pos) == b'(' {
            // for (( init; cond; step ))
            let at = self.pos - 1;
            self.bump();
            self.pos += 1;
            self.arithmetic(at)?;
            if self.peek(false)? == P::Op(Op::Semi) {
                self.bump();
            }
            self.newlines()?;
            return match self.peek(true)? {
                P::Word {
                    kw: Some(Kw::LBrace),
                    ..
                } => {
                    self.bump();
                    self.nonempty_list(T_RBRACE)?;
                    self.bump();
                    Ok(())
                }
                _ => self.do_group(),
            };
        }
        match self.peek(false)? {
            P::Word { .. } if self.peeked_text().is_some_and(is_name) => self.bump(),
            _ => return err(self.unexpected("a variable name")),
        }
        self.newlines()?;
        match self.peek(false)? {
            P::Word {
                kw: Some(Kw::In), ..
            } => {
                self.bump();
                loop {
                    match self.peek(false)? {
                        P::Word { .. } => self.bump(),
                        P::Op(Op::Semi) => {
                            self.bump();
                            break;
                        }
                        P::Newline => break,
                        _ => return err(self.unexpected("`do`")),
                    }
                }
            }
            P::Op(Op::Semi) => self.bump(),
            _ => {}
        }
        self.newlines()?;
        self.do_group()
    }

    fn do_group(&mut self) -> Res<()> {
        match self.peek(true)? {
            P::Word {
                kw: Some(Kw::Do), ..
            } => self.bump(),
            _ => return err(self.unexpected("`do`")),
        }
        self.nonempty_list(T_DONE)?;
        self.bump();
        Ok(())
    }

    fn case_clause(&mut self) -> Res<()> {
        match self.peek(false)? {
            P::Word { .. } => self.bump(),
            _ => return err(self.unexpected("a word")),
        }
        self.newlines()?;
        match self.peek(false)? {
            P::Word {
                kw: Some(Kw::In), ..
            } => self.bump(),
            _ => return err(self.unexpected("`in`")),
        }
        loop {
            self.newlines()?;
            match self.peek(false)? {
                P::Word {
                    kw: Some(Kw::Esac), ..
                } => {
                    self.bump();
                    return Ok(());
                }
                P::Op(Op::LParen) => self.bump(),
                _ => {}
            }
            // Patterns: words separated by `|`, closed by `)`.
            loop {
                match self.peek(false)? {
                    P::Word { .. } => self.bump(),
                    _ => return err(self.unexpected("a pattern")),
                }
                match self.peek(false)? {
                    P::Op(Op::Pipe) => self.bump(),
                    P::Op(Op::RParen) => {
                        self.bump();
                        break;
                    }
                    _ => return err(self.unexpected("`)`")),
                }
            }
            self.list(T_CASE_END | T_ESAC)?;
            match self.peek(true)? {
                P::Op(_) => self.bump(),
                _ => {
                    self.bump();
                    return Ok(());
                }
            }
        }
    }

    /// `[[ … ]]` after its `[[`: words (their substitutions are parts) and operators up to
    /// `]]`; the expression itself is not checked (it runs no command).
    fn test_clause(&mut self) -> Res<()> {
        let mut n = 0;
        loop {
            match self.peek(false)? {
                P::Word {
                    kw: Some(Kw::DRBracket),
                    ..
                } => {
                    if n == 0 {
                        return err(self.unexpected("an expression"));
                    }
                    self.bump();
                    return Ok(());
                }
                P::Word { .. } | P::Newline | P::Io => self.bump(),
                P::Op(
                    Op::AndIf
                    | Op::OrIf
                    | Op::LParen
                    | Op::RParen
                    | Op::Less
                    | Op::Great
                    | Op::Pipe,
                ) => self.bump(),
                _ => return err(self.unexpected("`]]`")),
            }
            n += 1;
        }
    }

    /// `function NAME [()] BODY`.
    fn function_keyword(&mut self) -> Res<()> {
        self.bump();
        match self.peek(false)? {
            P::Word { flags, .. } if flags & DYNAMIC == 0 => self.bump(),
            _ => return err(self.unexpected("a function name")),
        }
        if self.peek(false)? == P::Op(Op::LParen) {
            self.bump();
            match self.peek(false)? {
                P::Op(Op::RParen) => self.bump(),
                _ => return err(self.unexpected("`)`")),
            }
        }
        self.function_body()
    }

    fn function_body(&mut self) -> Res<()> {
        self.newlines()?;
        match self.peek(true)? {
            P::Op(Op::LParen)
            | P::Word {
                kw:
                    Some(
                        Kw::LBrace
                        | Kw::If
                        | Kw::While
                        | Kw::Until
                        | Kw::For
                        | Kw::Select
                        | Kw::Case,
                    ),
                ..
            } => {}
            _ => return err(self.unexpected("a function body")),
        }
        self.enter()?;
        self.compound()?;
        self.leave();
        self.redirects()
    }

    /// A simple command: assignments, words and redirections, in any order after the
    /// first word; or a function definition `NAME () BODY`.
    fn simple(&mut self) -> Res<()> {
        // The first token is the look-ahead already (`command` peeked it).
        let slot = self.peeked_slot;
        let mut assigns: SmallVec<[Word; 2]> = SmallVec::new();
        let mut words: SmallVec<[Word; 8]> = SmallVec::new();
        let mut redirs: SmallVec<[Redir; 1]> = SmallVec::new();
        loop {
            if !words.is_empty()
                && let Some(w) = self.direct_word()?
            {
                words.push(w);
                continue;
            }
            match self.peek(words.is_empty())? {
                P::Word { kw, flags } => {
                    if words.is_empty() {
                        if flags & ASSIGN != 0 {
                            if let Some(Tok::Word(w)) = self.peeked.take() {
                                assigns.push(w);
                            }
                            continue;
                        }
                        if kw.is_some()
                            && kw != Some(Kw::Time)
                            && !(assigns.is_empty() && redirs.is_empty())
                        {
                            return err(self.unexpected("a command"));
                        }
                    }
                    if let Some(Tok::Word(w)) = self.peeked.take() {
                        words.push(w);
                    }
                    if words.len() == 1
                        && assigns.is_empty()
                        && redirs.is_empty()
                        && self.peek(false)? == P::Op(Op::LParen)
                    {
                        return self.function_definition(&words);
                    }
                }
                P::Io => redirs.push(self.redirect()?),
                P::Op(op) if op.is_redirect() => redirs.push(self.redirect()?),
                _ => break,
            }
        }
        if !words.is_empty() {
            return self.emit(slot, &words, &redirs);
        }
        let part = if !assigns.is_empty() {
            self.join(&assigns)
        } else {
            let mut s = String::new();
            render_redirs(self.src, &redirs, &mut s);
            Cow::Owned(s)
        };
        self.push_part(slot, part)
    }

    /// After a command's name, the next word lexed directly when it plainly is one (no
    /// look-ahead pending, not an operator, comment or line end): the common case skips
    /// the look-ahead slot. `None` leaves the token to `peek`.
    fn direct_word(&mut self) -> Res<Option<Word>> {
        if self.peeked.is_some() {
            return Ok(None);
        }
        while matches!(self.at(self.pos), b' ' | b'\t') {
            self.pos += 1;
        }
        if matches!(
            self.at(self.pos),
            0 | b'\n' | b'#' | b'&' | b'|' | b';' | b'(' | b')' | b'<' | b'>' | b'\\'
        ) {
            return Ok(None);
        }
        let w = self.word(false, false)?;
        if matches!(self.at(self.pos), b'<' | b'>')
            && w.flags == 0
            && w.src_is_text()
            && sub(self.src, w.start, w.end)
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            self.put_back(Tok::Io(w.start, w.end));
            return Ok(None);
        }
        Ok(Some(w))
    }

    fn function_definition(&mut self, words: &[Word]) -> Res<()> {
        if words.iter().any(|w| w.flags & DYNAMIC != 0) {
            return err(self.unexpected("a command"));
        }
        self.bump();
        match self.peek(false)? {
            P::Op(Op::RParen) => self.bump(),
            _ => return err(self.unexpected("`)`")),
        }
        self.function_body()
    }

    /// Emits the part of a simple command with `words` (no assignments), after removing
    /// its wrappers, then the parts of the script it runs.
    fn emit(&mut self, slot: usize, words: &[Word], redirs: &[Redir]) -> Res<()> {
        let src = self.src;
        let mut i = 0;
        let cmd = loop {
            let Some(name) = words.get(i) else {
                return Ok(());
            };
            if name.flags & (DYNAMIC | GLOB | BRACE) != 0 {
                let (a, b) = (
                    words.first().map_or(0, |w| w.start),
                    words.last().map_or(0, |w| w.end),
                );
                return err(ShellError::DynamicCommand {
                    command: snippet(sub(src, a, b)),
                });
            }
            let role = role(base_name(text(src, &name.text)));
            let rest = words.get(i + 1..).unwrap_or(&[]);
            let wrapper = match role {
                Role::Wrapper(k) => WRAPPERS.get(k),
                _ => None,
            };
            match wrapper {
                Some(w) => match wrapper_len(src, w, rest) {
                    Strip::Skip(k) => i += 1 + k,
                    Strip::Keep => break (words.get(i..).unwrap_or(&[]), role),
                    Strip::Dynamic => {
                        return err(ShellError::DynamicCommand {
                            command: snippet(sub(
                                src,
                                words.first().map_or(0, |w| w.start),
                                words.last().map_or(0, |w| w.end),
                            )),
                        });
                    }
                },
                None => break (words.get(i..).unwrap_or(&[]), role),
            }
        };
        let (cmd, role) = cmd;
        let mut part = self.join(cmd);
        if !redirs.is_empty() {
            let owned = part.to_mut();
            owned.push(' ');
            render_redirs(src, redirs, owned);
        }
        self.push_part(slot, part)?;
        if role == Role::Other {
            return Ok(());
        }
        self.scripts(cmd, role)
    }

    /// The scripts a command runs: `sh -c SCRIPT`, `eval ARGS`, `find … -exec CMD ;`.
    fn scripts(&mut self, cmd: &[Word], role: Role) -> Res<()> {
        let src = self.src;
        let Some((_, args)) = cmd.split_first() else {
            return Ok(());
        };
        let dynamic = |ws: &[Word]| ShellError::DynamicScript {
            command: snippet(sub(
                src,
                cmd.first().map_or(0, |w| w.start),
                ws.last().map_or(0, |w| w.end),
            )),
        };
        if role == Role::Shell {
            if let Some(k) = shell_script(src, args).map_err(|()| dynamic(cmd))?
                && let Some(script) = args.get(k)
            {
                if script.flags & DYNAMIC != 0 {
                    return err(dynamic(cmd));
                }
                return self.script(&[script]);
            }
        } else if role == Role::Eval {
            let args = match args.split_first() {
                Some((first, rest)) if text(src, &first.text) == "--" => rest,
                _ => args,
            };
            if args.iter().any(|w| w.flags & DYNAMIC != 0) {
                return err(dynamic(cmd));
            }
            let refs: SmallVec<[&Word; 8]> = args.iter().collect();
            return self.script(&refs);
        } else if role == Role::Find {
            let mut k = 0;
            while let Some(w) = args.get(k) {
                k += 1;
                if matches!(text(src, &w.text), "-exec" | "-execdir" | "-ok" | "-okdir") {
                    let from = k;
                    while let Some(w) = args.get(k) {
                        if matches!(text(src, &w.text), ";" | "+") {
                            break;
                        }
                        k += 1;
                    }
                    let inner = args.get(from..k).unwrap_or(&[]);
                    if !inner.is_empty() {
                        self.enter()?;
                        let slot = self.out.len();
                        self.emit(slot, inner, &[])?;
                        self.leave();
                    }
                    k += 1;
                }
            }
        }
        Ok(())
    }

    /// Parses the script made of `words` joined by spaces, one level deeper: in place when
    /// it is one unchanged range of the text, else as a derived text.
    fn script(&mut self, words: &[&Word]) -> Res<()> {
        match words {
            [] => Ok(()),
            [w] => match &w.text {
                Text::Slice(a, b) => {
                    let mut p = self.range(*a, *b);
                    p.enter()?;
                    p.program()
                }
                Text::Own(s) => self.derived(s),
            },
            _ => {
                let mut s = String::new();
                for (j, w) in words.iter().enumerate() {
                    if j > 0 {
                        s.push(' ');
                    }
                    s.push_str(text(self.src, &w.text));
                }
                self.derived(&s)
            }
        }
    }

    /// Words joined by one space; borrowed when they are unchanged and one space apart in
    /// the source.
    fn join(&self, words: &[Word]) -> Cow<'a, str> {
        let src = self.src;
        match words {
            [] => Cow::Borrowed(""),
            [w] => match &w.text {
                Text::Slice(a, b) => (self.mk)(sub(src, *a, *b)),
                Text::Own(s) => Cow::Owned(s.clone()),
            },
            [first, .., last] => {
                let plain = words.iter().all(Word::src_is_text)
                    && words.windows(2).all(|p| match p {
                        [x, y] => y.start == x.end + 1 && src.as_bytes().get(x.end) == Some(&b' '),
                        _ => false,
                    });
                if plain {
                    return (self.mk)(sub(src, first.start, last.end));
                }
                let mut s = String::with_capacity(last.end.saturating_sub(first.start));
                for (j, w) in words.iter().enumerate() {
                    if j > 0 {
                        s.push(' ');
                    }
                    s.push_str(text(src, &w.text));
                }
                Cow::Owned(s)
            }
        }
    }
}

impl Word {
    /// The normalised text is the word as written.
    fn src_is_text(&self) -> bool {
        matches!(self.text, Text::Slice(a, b) if a == self.start && b == self.end)
    }
}

#[cfg(test)]
mod tests;
