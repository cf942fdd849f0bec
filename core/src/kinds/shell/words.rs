//! The parser's word level: a token's extent and its normalised text, through quotes,
//! escapes, expansions and substitutions (whose commands become parts), and heredocs.

use super::*;

impl<'a> Parser<'_, 'a, '_> {
    pub(super) fn lex(&mut self, array_ok: bool) -> Res<Tok> {
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
    pub(super) fn process_substitution(&mut self) -> Res<Tok> {
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
    pub(super) fn subst_list(&mut self, open: usize) -> Res<usize> {
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
    pub(super) fn read_heredocs(&mut self) -> Res<()> {
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
    pub(super) fn heredoc_body(&mut self) -> Res<()> {
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
    pub(super) fn word(&mut self, array_ok: bool, classify: bool) -> Res<Word> {
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
    pub(super) fn array(&mut self, w: &mut WordBuf) -> Res<()> {
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

    pub(super) fn single_quote_end(&self, open: usize) -> Res<usize> {
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
    pub(super) fn double_quote(&mut self, mut w: Option<&mut WordBuf>) -> Res<()> {
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
    pub(super) fn dollar(&mut self, mut w: Option<&mut WordBuf>, in_dq: bool) -> Res<()> {
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

    pub(super) fn ansi_c_end(&self, at: usize) -> Res<usize> {
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
    pub(super) fn brace_param(&mut self, at: usize) -> Res<()> {
        self.enter()?;
        loop {
            match self.at(self.pos) {
                0 => return err(ShellError::Unterminated { what: "`${`", at }),
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => self.skip_piece("`${`", at)?,
            }
        }
        self.leave();
        Ok(())
    }

    /// One piece of a `${ … }` or `(( … ))` body at `pos`: an escape, a quoted string or a
    /// substitution (whose commands become parts), else one byte. `what` and `at` name the
    /// construct for an escape left unterminated at the end of the text.
    fn skip_piece(&mut self, what: &'static str, at: usize) -> Res<()> {
        match self.at(self.pos) {
            b'\\' => {
                if self.at(self.pos + 1) == 0 {
                    return err(ShellError::Unterminated { what, at });
                }
                self.pos += 2;
            }
            b'\'' => self.pos = self.single_quote_end(self.pos)? + 1,
            b'"' => self.double_quote(None)?,
            b'$' => self.dollar(None, false)?,
            b'`' => self.backtick()?,
            _ => self.pos += 1,
        }
        Ok(())
    }

    /// An arithmetic expression after `$((` or `((`, through its `))`.
    pub(super) fn arithmetic(&mut self, at: usize) -> Res<()> {
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
                _ => self.skip_piece("`((`", at)?,
            }
        }
        self.leave();
        Ok(())
    }

    /// A backquoted substitution from its opening backquote: its body (with `\\`, `` \` ``
    /// and `\$` unescaped) is parsed one level deeper.
    pub(super) fn backtick(&mut self) -> Res<()> {
        self.backtick_in(false)
    }

    /// A backquoted substitution; inside double quotes (`in_dq`) `\"` is unescaped too.
    pub(super) fn backtick_in(&mut self, in_dq: bool) -> Res<()> {
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
}
