//! Wrappers and script runners: commands that run the command after their options
//! (`env`, `timeout`, `nice`, `xargs`, …), and those whose argument is a script
//! (`sh -c`, `eval`, `find -exec`). The table and the rules that strip them.

use super::*;

/// A command that runs the command after its options (see the module documentation).
pub(super) struct Wrapper {
    /// Its name, as [`role`] matches it.
    #[allow(dead_code)]
    pub(super) name: &'static str,
    /// Short options without a value (may be clustered: `-ip`).
    short_flags: &'static [u8],
    /// Short options with a value, attached (`-n5`) or as the next word.
    short_valued: &'static [u8],
    /// Short options after which the wrapper is not read (look-ups, PIDs, optional values,
    /// string splitting).
    short_stop: &'static [u8],
    long_flags: &'static [&'static str],
    /// Long options with a value: `--opt=V` or `--opt V`.
    long_valued: &'static [&'static str],
    long_stop: &'static [&'static str],
    /// `-` alone is an option (env: same as `-i`).
    dash: bool,
    /// `-N` (digits) is an option (nice).
    numeric: bool,
    /// `NAME=VALUE` words may follow the options (env).
    assignments: bool,
    /// Words between the options and the command (timeout's DURATION).
    positionals: usize,
}

const NO: &[u8] = b"";

/// A wrapper with no options: the fields an entry of [`WRAPPERS`] does not name.
const PLAIN: Wrapper = Wrapper {
    name: "",
    short_flags: NO,
    short_valued: NO,
    short_stop: NO,
    long_flags: &[],
    long_valued: &[],
    long_stop: &[],
    dash: false,
    numeric: false,
    assignments: false,
    positionals: 0,
};

pub(super) const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        name: "env",
        short_flags: b"i0v",
        short_valued: b"uC",
        short_stop: b"S",
        long_flags: &["--ignore-environment", "--null", "--debug"],
        long_valued: &["--unset", "--chdir"],
        long_stop: &["--split-string"],
        dash: true,
        assignments: true,
        ..PLAIN
    },
    Wrapper {
        name: "command",
        short_flags: b"p",
        short_stop: b"vV",
        ..PLAIN
    },
    Wrapper {
        name: "builtin",
        ..PLAIN
    },
    Wrapper {
        name: "nohup",
        ..PLAIN
    },
    Wrapper {
        name: "exec",
        short_flags: b"cl",
        short_valued: b"a",
        ..PLAIN
    },
    Wrapper {
        name: "time",
        short_flags: b"pvqa",
        short_valued: b"of",
        long_flags: &["--verbose", "--quiet", "--append", "--portability"],
        long_valued: &["--output", "--format"],
        ..PLAIN
    },
    Wrapper {
        name: "timeout",
        short_flags: b"v",
        short_valued: b"sk",
        long_flags: &["--preserve-status", "--foreground", "--verbose"],
        long_valued: &["--signal", "--kill-after"],
        positionals: 1,
        ..PLAIN
    },
    Wrapper {
        name: "nice",
        short_valued: b"n",
        long_valued: &["--adjustment"],
        numeric: true,
        ..PLAIN
    },
    Wrapper {
        name: "ionice",
        short_flags: b"t",
        short_valued: b"cn",
        short_stop: b"pPu",
        long_flags: &["--ignore"],
        long_valued: &["--class", "--classdata"],
        long_stop: &["--pid", "--pgid", "--uid"],
        ..PLAIN
    },
    Wrapper {
        name: "stdbuf",
        short_valued: b"ioe",
        long_valued: &["--input", "--output", "--error"],
        ..PLAIN
    },
    Wrapper {
        name: "setsid",
        short_flags: b"cfw",
        long_flags: &["--ctty", "--fork", "--wait"],
        ..PLAIN
    },
    Wrapper {
        name: "xargs",
        short_flags: b"0rtpxo",
        short_valued: b"nLPsIdaE",
        short_stop: b"iel",
        long_flags: &[
            "--null",
            "--no-run-if-empty",
            "--verbose",
            "--interactive",
            "--exit",
            "--open-tty",
        ],
        long_valued: &[
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--delimiter",
            "--arg-file",
            "--process-slot-var",
        ],
        long_stop: &["--replace", "--eof", "--max-lines"],
        ..PLAIN
    },
];

/// What a command name (its base name) is to the splitter. One `match`: this runs for
/// every simple command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A wrapper: index in [`WRAPPERS`].
    Wrapper(usize),
    /// A shell whose `-c` argument is a script to split.
    Shell,
    Eval,
    Find,
    Other,
}

pub(super) fn role(base: &str) -> Role {
    // Reject on the first byte first: a `match` on strings compares them one by one.
    if !matches!(
        base.as_bytes().first(),
        Some(
            b'e' | b'c'
                | b'b'
                | b'n'
                | b't'
                | b'i'
                | b's'
                | b'x'
                | b'd'
                | b'z'
                | b'k'
                | b'm'
                | b'a'
                | b'f'
        )
    ) {
        return Role::Other;
    }
    match base {
        "env" => Role::Wrapper(0),
        "command" => Role::Wrapper(1),
        "builtin" => Role::Wrapper(2),
        "nohup" => Role::Wrapper(3),
        "exec" => Role::Wrapper(4),
        "time" => Role::Wrapper(5),
        "timeout" => Role::Wrapper(6),
        "nice" => Role::Wrapper(7),
        "ionice" => Role::Wrapper(8),
        "stdbuf" => Role::Wrapper(9),
        "setsid" => Role::Wrapper(10),
        "xargs" => Role::Wrapper(11),
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" => Role::Shell,
        "eval" => Role::Eval,
        "find" => Role::Find,
        _ => Role::Other,
    }
}

/// The last path component: `/usr/bin/env` runs `env`.
pub(super) fn base_name(t: &str) -> &str {
    match t.as_bytes().iter().rposition(|&b| b == b'/') {
        Some(i) => t.get(i + 1..).unwrap_or(t),
        None => t,
    }
}

/// What to do with a wrapper.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Strip {
    /// This many of the following words are the wrapper's own; the command follows them.
    Skip(usize),
    /// Keep the wrapper in the part: an option it is not known to take, or no command.
    Keep,
    /// A word that may be an option or the command is only known at run time, or a value
    /// may split into several words: the command run is only known at run time.
    Dynamic,
}

/// Reads a wrapper's own words in `rest` (the words after its name).
pub(super) fn wrapper_len(src: &str, w: &Wrapper, rest: &[Word]) -> Strip {
    // A value after an option: any text, but one word.
    let value = |k: usize| match rest.get(k) {
        None => Err(Strip::Keep),
        Some(v) if v.flags & MULTI != 0 => Err(Strip::Dynamic),
        Some(_) => Ok(()),
    };
    let mut k = 0;
    while let Some(word) = rest.get(k) {
        if w.assignments && word.flags & ASSIGN != 0 {
            break;
        }
        if word.flags & DYNAMIC != 0 {
            return Strip::Dynamic;
        }
        let t = text(src, &word.text);
        if t == "--" {
            k += 1;
            break;
        }
        if t == "-" && w.dash {
            k += 1;
            continue;
        }
        let Some(opts) = t.strip_prefix('-').filter(|o| !o.is_empty()) else {
            break;
        };
        if t.starts_with("--") {
            let (name, has_value) = match t.find('=') {
                Some(i) => (t.get(..i).unwrap_or(t), true),
                None => (t, false),
            };
            if w.long_stop.contains(&name) {
                return Strip::Keep;
            }
            if w.long_flags.contains(&name) && !has_value {
                k += 1;
            } else if w.long_valued.contains(&name) {
                if has_value {
                    k += 1;
                } else {
                    if let Err(e) = value(k + 1) {
                        return e;
                    }
                    k += 2;
                }
            } else {
                return Strip::Keep;
            }
            continue;
        }
        if w.numeric && opts.bytes().all(|b| b.is_ascii_digit()) {
            k += 1;
            continue;
        }
        let bytes = opts.as_bytes();
        let mut step = 1;
        for (j, c) in bytes.iter().enumerate() {
            if w.short_stop.contains(c) {
                return Strip::Keep;
            }
            if w.short_flags.contains(c) {
                continue;
            }
            if !w.short_valued.contains(c) {
                return Strip::Keep;
            }
            if j + 1 == bytes.len() {
                if let Err(e) = value(k + 1) {
                    return e;
                }
                step = 2;
            }
            break;
        }
        k += step;
    }
    if w.assignments {
        // `NAME=VALUE`: static, or a static `NAME=` whose value stays one word.
        while let Some(word) = rest.get(k) {
            if word.flags & DYNAMIC == 0 {
                if !text(src, &word.text)
                    .get(1..)
                    .is_some_and(|t| t.contains('='))
                {
                    break;
                }
            } else if word.flags & ASSIGN == 0 || word.flags & MULTI != 0 {
                return Strip::Dynamic;
            }
            k += 1;
        }
    }
    for _ in 0..w.positionals {
        match rest.get(k) {
            None => return Strip::Keep,
            Some(p) if p.flags & DYNAMIC != 0 => return Strip::Dynamic,
            Some(_) => k += 1,
        }
    }
    if k < rest.len() {
        Strip::Skip(k)
    } else {
        Strip::Keep
    }
}

/// The index in `args` (the words after a shell's name) of the script `-c` runs:
/// `Ok(None)` without `-c`, `Err(())` when an option is only known at run time (`bash $x`
/// may well be `bash -c …`).
pub(super) fn shell_script(src: &str, args: &[Word]) -> Result<Option<usize>, ()> {
    let mut k = 0;
    let mut c = false;
    while let Some(word) = args.get(k) {
        if word.flags & DYNAMIC != 0 {
            return if c { Ok(Some(k)) } else { Err(()) };
        }
        let t = text(src, &word.text);
        if t == "--" || t == "-" {
            k += 1;
            break;
        }
        if t.starts_with("--") {
            k += if matches!(t, "--rcfile" | "--init-file") {
                2
            } else {
                1
            };
            continue;
        }
        let Some(opts) = t
            .strip_prefix('-')
            .or_else(|| t.strip_prefix('+'))
            .filter(|o| !o.is_empty())
        else {
            break;
        };
        k += 1;
        for b in opts.bytes() {
            match b {
                b'c' => c = true,
                b'o' | b'O' => k += 1,
                _ => {}
            }
        }
    }
    Ok((c && k < args.len()).then_some(k))
}
