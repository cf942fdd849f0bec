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

mod grammar;
mod lex;
mod words;
mod wrappers;

use lex::*;

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
}

impl Word {
    /// The normalised text is the word as written.
    fn src_is_text(&self) -> bool {
        matches!(self.text, Text::Slice(a, b) if a == self.start && b == self.end)
    }
}

#[cfg(test)]
mod tests;
