//! The parser's command level: lists, pipelines, compound commands, function
//! definitions, redirections, and the simple commands that become parts (with the scripts
//! they run through `sh -c`, `eval` and `find -exec`).

use super::*;

impl<'a> Parser<'_, 'a, '_> {
    /// A whole text: a list up to the end, no heredoc left open.
    pub(super) fn program(&mut self) -> Res<()> {
        self.list(T_EOF)?;
        Ok(())
    }

    pub(super) fn newlines(&mut self) -> Res<()> {
        while self.peek(true)? == P::Newline {
            self.bump();
        }
        Ok(())
    }

    /// A list of and-or lists separated by `;`, `&` and newlines, up to one of `terms`
    /// (left as the look-ahead). Returns how many and-or lists it has.
    pub(super) fn list(&mut self, terms: u32) -> Res<usize> {
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

    pub(super) fn and_or(&mut self) -> Res<()> {
        self.pipeline()?;
        while let P::Op(Op::AndIf | Op::OrIf) = self.peek(false)? {
            self.bump();
            self.newlines()?;
            self.pipeline()?;
        }
        Ok(())
    }

    pub(super) fn pipeline(&mut self) -> Res<()> {
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

    pub(super) fn command(&mut self) -> Res<()> {
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

    pub(super) fn token_start(&self) -> usize {
        match &self.peeked {
            Some(Tok::Word(w)) => w.start,
            Some(Tok::Io(a, _) | Tok::Op(_, a) | Tok::Newline(a) | Tok::Eof(a)) => *a,
            None => self.pos,
        }
    }

    /// Redirections after a compound command: dropped, but their heredocs and
    /// substitutions count.
    pub(super) fn redirects(&mut self) -> Res<()> {
        loop {
            match self.peek(false)? {
                P::Io => {}
                P::Op(op) if op.is_redirect() => {}
                _ => return Ok(()),
            }
            self.redirect()?;
        }
    }

    pub(super) fn redirect(&mut self) -> Res<Redir> {
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

    pub(super) fn compound(&mut self) -> Res<()> {
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
    pub(super) fn nonempty_list(&mut self, terms: u32) -> Res<()> {
        if self.list(terms)? == 0 {
            return err(self.unexpected(describe(terms)));
        }
        Ok(())
    }

    pub(super) fn if_clause(&mut self) -> Res<()> {
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

    pub(super) fn for_clause(&mut self) -> Res<()> {
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

    pub(super) fn do_group(&mut self) -> Res<()> {
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

    pub(super) fn case_clause(&mut self) -> Res<()> {
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
    pub(super) fn test_clause(&mut self) -> Res<()> {
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
    pub(super) fn function_keyword(&mut self) -> Res<()> {
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

    pub(super) fn function_body(&mut self) -> Res<()> {
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
    pub(super) fn simple(&mut self) -> Res<()> {
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
    pub(super) fn direct_word(&mut self) -> Res<Option<Word>> {
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

    pub(super) fn function_definition(&mut self, words: &[Word]) -> Res<()> {
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
    pub(super) fn emit(&mut self, slot: usize, words: &[Word], redirs: &[Redir]) -> Res<()> {
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
    pub(super) fn scripts(&mut self, cmd: &[Word], role: Role) -> Res<()> {
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
    pub(super) fn script(&mut self, words: &[&Word]) -> Res<()> {
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
    pub(super) fn join(&self, words: &[Word]) -> Cow<'a, str> {
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
