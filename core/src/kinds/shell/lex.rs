//! Tokens: the operators, reserved words and word boundaries of bash, read one token at a
//! time by the parser (`super::Parser`); nothing here looks past the token it reads.

use super::*;

/// Operators, as bash reads them (longest match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
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
    pub(super) const fn as_str(self) -> &'static str {
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

    pub(super) const fn is_redirect(self) -> bool {
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
pub(super) enum Kw {
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

pub(super) fn keyword(t: &str) -> Option<Kw> {
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
pub(super) const QUOTED: u8 = 1;
/// An expansion or substitution outside single quotes: its value is only known at run time.
pub(super) const DYNAMIC: u8 = 2;
/// An unquoted `*`, `?` or `[…]`: a pathname pattern.
pub(super) const GLOB: u8 = 4;
/// An unquoted `{`: possibly a brace expansion.
pub(super) const BRACE: u8 = 8;
/// `NAME=…`, `NAME+=…` or `NAME[…]=…`: an assignment when it leads a command.
pub(super) const ASSIGN: u8 = 16;
/// An expansion outside any quotes: its value may split into several words.
pub(super) const SPLIT: u8 = 32;
/// The word may expand to several words (or none).
pub(super) const MULTI: u8 = SPLIT | GLOB | BRACE;

/// A word's normalised text: a range of the source when unchanged, else owned.
#[derive(Debug)]
pub(super) enum Text {
    Slice(usize, usize),
    Own(String),
}

#[derive(Debug)]
pub(super) struct Word {
    /// Source range of the word as written.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) text: Text,
    pub(super) flags: u8,
    /// The reserved word it is, if it stands where a command starts.
    pub(super) kw: Option<Kw>,
}

#[derive(Debug)]
pub(super) enum Tok {
    Word(Word),
    /// The digits of `2>`.
    Io(usize, usize),
    Op(Op, usize),
    Newline(usize),
    Eof(usize),
}

/// What the look-ahead token is, without borrowing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum P {
    Word { kw: Option<Kw>, flags: u8 },
    Io,
    Op(Op),
    Newline,
    Eof,
}

/// Terminators a list stops at (bit set).
pub(super) const T_EOF: u32 = 1;
pub(super) const T_RPAREN: u32 = 1 << 1;
pub(super) const T_CASE_END: u32 = 1 << 2;
pub(super) const T_THEN: u32 = 1 << 3;
pub(super) const T_ELIF: u32 = 1 << 4;
pub(super) const T_ELSE: u32 = 1 << 5;
pub(super) const T_FI: u32 = 1 << 6;
pub(super) const T_DO: u32 = 1 << 7;
pub(super) const T_DONE: u32 = 1 << 8;
pub(super) const T_ESAC: u32 = 1 << 9;
pub(super) const T_RBRACE: u32 = 1 << 10;

pub(super) fn term_bit(p: P) -> u32 {
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

pub(super) fn describe(terms: u32) -> &'static str {
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
pub(super) struct Heredoc {
    pub(super) delim: Text,
    pub(super) strip_tabs: bool,
    /// Unquoted delimiter: the body's substitutions run.
    pub(super) expand: bool,
}

/// Appends redirections as a part spells them: each operator and its target with no
/// space between (`>log`, `2>&1`, `<<EOF` with the delimiter unquoted), one space apart.
pub(super) fn render_redirs(src: &str, redirs: &[Redir], out: &mut String) {
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
pub(super) struct Redir {
    pub(super) fd: Option<(usize, usize)>,
    pub(super) op: Op,
    pub(super) target: Text,
}

pub(super) fn sub(src: &str, a: usize, b: usize) -> &str {
    src.get(a..b).unwrap_or("")
}

pub(super) fn text<'t>(src: &'t str, t: &'t Text) -> &'t str {
    match t {
        Text::Slice(a, b) => sub(src, *a, *b),
        Text::Own(s) => s,
    }
}

/// The user text of an error, cut to a readable length at a character boundary.
pub(super) fn snippet(s: &str) -> String {
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

pub(super) fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

pub(super) const fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(super) const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(super) fn is_name(t: &str) -> bool {
    let mut bytes = t.bytes();
    bytes.next().is_some_and(is_name_start) && bytes.all(is_name_byte)
}

/// `NAME`, `NAME+`, `NAME[…]` or `NAME[…]+`: what may precede the `=` of an assignment.
pub(super) fn is_assignment_lhs(t: &str) -> bool {
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
pub(super) struct WordBuf {
    pub(super) start: usize,
    pub(super) run: usize,
    pub(super) own: Option<String>,
    pub(super) flags: u8,
    /// Only unquoted literal bytes so far (an assignment needs that before its `=`).
    pub(super) plain: bool,
    /// The first unquoted `=` was seen.
    pub(super) eq_seen: bool,
    /// Where the first unquoted `=` is (an array literal must follow it directly).
    pub(super) eq_at: usize,
    /// An unquoted `[` was seen (a `]` after it makes a glob).
    pub(super) bracket: bool,
}

impl WordBuf {
    pub(super) const fn new(start: usize) -> Self {
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
    pub(super) fn replace(&mut self, src: &str, x: usize, y: usize, with: &str) {
        let own = self.own.get_or_insert_with(String::new);
        own.push_str(sub(src, self.run, x));
        own.push_str(with);
        self.run = y;
    }

    /// Removes source bytes `x..y` from the normalised text.
    pub(super) fn drop(&mut self, src: &str, x: usize, y: usize) {
        self.replace(src, x, y, "");
    }

    /// The word; `classify`: whether it may stand where a keyword is recognised (words
    /// after a command name never do, and skip the check).
    pub(super) fn finish(mut self, src: &str, end: usize, classify: bool) -> Word {
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
pub(super) fn decode_ansi_c(raw: &str, out: &mut String, at: usize) -> Res<()> {
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
