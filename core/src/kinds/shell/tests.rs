//! The splitter's unit tests: parts of every construct, errors, limits, linear work.

#![allow(clippy::indexing_slicing)]

use super::*;

#[track_caller]
fn parts(cmd: &str, expected: &[&str]) {
    match split(cmd) {
        Ok(p) => {
            let got: Vec<&str> = p.iter().map(|c| c.as_ref()).collect();
            assert_eq!(got, expected, "split({cmd:?})");
        }
        Err(e) => panic!("split({cmd:?}) failed: {e}"),
    }
}

#[track_caller]
fn err(cmd: &str) -> ShellError {
    match split(cmd) {
        Ok(p) => panic!("split({cmd:?}) should fail, got {p:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn borrowed(cmd: &str) {
    let p = split(cmd).unwrap();
    assert!(
        p.iter().all(|c| matches!(c, Cow::Borrowed(_))),
        "split({cmd:?}) allocated: {p:?}"
    );
}

#[test]
fn lists_and_sequences() {
    parts("git status", &["git status"]);
    parts(" git status ", &["git status"]);
    parts("git status; rm -fr /", &["git status", "rm -fr /"]);
    parts("git status;rm -fr /", &["git status", "rm -fr /"]);
    parts("git add -A\ngit status", &["git add -A", "git status"]);
    parts("a && b || c", &["a", "b", "c"]);
    parts("a &&\n b", &["a", "b"]);
    parts("git status & rm -fr /", &["git status", "rm -fr /"]);
    parts("a &", &["a"]);
    parts("a;", &["a"]);
    parts("\n\na\n\n", &["a"]);
    parts("a \\\n b", &["a b"]);
}

#[test]
fn pipelines() {
    parts("git log | sh", &["git log", "sh"]);
    parts("a |& b", &["a", "b"]);
    parts("a |\n b", &["a", "b"]);
    parts("! a | b", &["a", "b"]);
    parts("time a | b", &["a", "b"]);
    parts("time -p a", &["a"]);
    parts("! ! a", &["a"]);
}

#[test]
fn subshells_groups_and_compounds() {
    parts("(a; b)", &["a", "b"]);
    parts("( (a) )", &["a"]);
    parts("{ a; b; }", &["a", "b"]);
    parts("{ a\n}", &["a"]);
    parts(
        "if a; then b; elif c; then d; else e; fi",
        &["a", "b", "c", "d", "e"],
    );
    parts("if (a) then b; fi", &["a", "b"]);
    parts("while a; do b; done", &["a", "b"]);
    parts("until a\ndo\nb\ndone", &["a", "b"]);
    parts("for x in $(ls) b; do echo $x; done", &["ls", "echo $x"]);
    parts("for x; do y; done", &["y"]);
    parts("for x do y; done", &["y"]);
    parts("for x\nin a\ndo y\ndone", &["y"]);
    parts("for ((i = 0; i < $(n); i++)); do y; done", &["n", "y"]);
    parts("for ((;;)) { y; }", &["y"]);
    parts("select x in a b; do y; done", &["y"]);
    parts(
        "case $(a) in x|y) b;; (z) c;& *) d;;& esac",
        &["a", "b", "c", "d"],
    );
    parts("case x in x) ;; esac; e", &["e"]);
    parts("case x\nin\nx)\nb\n;;\nesac", &["b"]);
    parts("case x in x) b\nesac", &["b"]);
    parts("[[ -f $(a) && x =~ ^(a|b)$ ]] && c", &["a", "c"]);
    parts("[[ a < b ]] || c", &["c"]);
    parts("(( x = $(a) + 1 )); b", &["a", "b"]);
    parts(
        "echo $(( (1 + 2) * $(n) ))",
        &["echo $(( (1 + 2) * $(n) ))", "n"],
    );
    parts("{ a; } > log 2>&1", &["a"]);
    parts("while read l; do a; done < <(b)", &["read l", "a", "b"]);
}

#[test]
fn functions() {
    parts("f() { rm -rf /; }; f", &["rm -rf /", "f"]);
    parts("f () (a)", &["a"]);
    parts("function f { a; }", &["a"]);
    parts("function f() { a; }", &["a"]);
    parts("function f\n{ a; }", &["a"]);
    parts("f() {\n a\n} > log", &["a"]);
}

#[test]
fn substitutions() {
    parts(
        "ls $(wget -qO- evil)",
        &["ls $(wget -qO- evil)", "wget -qO- evil"],
    );
    parts("ls \"$(pwd)\"", &["ls $(pwd)", "pwd"]);
    parts("git log `bash x`", &["git log `bash x`", "bash x"]);
    parts("echo `a \\`b\\``", &["echo `a \\`b\\``", "a `b`", "b"]);
    parts(
        "echo \"`echo \\\"hi\\\"`\"",
        &["echo `echo \\\"hi\\\"`", "echo hi"],
    );
    parts("echo $(a $(b) c)", &["echo $(a $(b) c)", "a $(b) c", "b"]);
    parts("echo $(a) $(b)", &["echo $(a) $(b)", "a", "b"]);
    parts("X=$(a) b", &["b", "a"]);
    parts("X=$(a | b) c", &["c", "a", "b"]);
    parts(
        "echo $(a | b) $(c); d",
        &["echo $(a | b) $(c)", "a", "b", "c", "d"],
    );
    parts("X=$(a)", &["X=$(a)", "a"]);
    parts("echo ${x:-$(a)}", &["echo ${x:-$(a)}", "a"]);
    parts("echo \"${x:-\"$(a)\"}\"", &["echo ${x:-\"$(a)\"}", "a"]);
    parts("diff <(ls a) >(wc)", &["diff <(ls a) >(wc)", "ls a", "wc"]);
    parts("cat < <(a)", &["cat < <(a)", "a"]);
    parts(
        "echo $(case x in x) a;; esac)",
        &["echo $(case x in x) a;; esac)", "a"],
    );
    parts("echo $(a # ) comment\n)", &["echo $(a # ) comment\n)", "a"]);
    parts("echo $()", &["echo $()"]);
    parts("echo $(\n a\n b\n)", &["echo $(\n a\n b\n)", "a", "b"]);
    parts("echo a$(b)c", &["echo a$(b)c", "b"]);
    parts("cat <<< $(a)", &["cat <<<$(a)", "a"]);
    parts("echo $[1 + 2]", &["echo $[1 + 2]"]);
}

#[test]
fn shell_c_and_eval() {
    parts(
        "bash -c 'curl x | sh'",
        &["bash -c curl x | sh", "curl x", "sh"],
    );
    parts("sh -c \"a; b\"", &["sh -c a; b", "a", "b"]);
    parts("bash -lc 'a'", &["bash -lc a", "a"]);
    parts("sh -ec 'a'", &["sh -ec a", "a"]);
    parts("bash -o pipefail -c 'a'", &["bash -o pipefail -c a", "a"]);
    parts("bash -x -c 'a' arg0", &["bash -x -c a arg0", "a"]);
    parts("/bin/sh -c a", &["/bin/sh -c a", "a"]);
    parts(
        "zsh -c a; dash -c b; ksh -c c",
        &["zsh -c a", "a", "dash -c b", "b", "ksh -c c", "c"],
    );
    parts("bash script.sh", &["bash script.sh"]);
    parts(
        "bash -c 'bash -c \"rm x\"'",
        &["bash -c bash -c \"rm x\"", "bash -c rm x", "rm x"],
    );
    parts("eval 'a; b'", &["eval a; b", "a", "b"]);
    parts(
        "eval echo hi\\; rm x",
        &["eval echo hi; rm x", "echo hi", "rm x"],
    );
    parts("eval", &["eval"]);
    parts("xargs sh -c 'rm $1' _", &["sh -c rm $1 _", "rm $1"]);
    parts(
        "find . -name '*.rs' -exec rm {} \\; -print",
        &["find . -name *.rs -exec rm {} ; -print", "rm {}"],
    );
    parts(
        "find . -execdir sh -c 'a' {} +",
        &["find . -execdir sh -c a {} +", "sh -c a {}", "a"],
    );
    assert!(matches!(
        err("bash -c \"$x\""),
        ShellError::DynamicScript { .. }
    ));
    assert!(matches!(
        err("bash -c \"rm $x\""),
        ShellError::DynamicScript { .. }
    ));
    assert!(matches!(err("eval $cmd"), ShellError::DynamicScript { .. }));
    assert!(matches!(
        err("bash $opts x"),
        ShellError::DynamicScript { .. }
    ));
    parts("bash x $y", &["bash x $y"]);
    assert!(matches!(
        err("bash -c '$1' _ rm"),
        ShellError::DynamicCommand { .. }
    ));
    assert!(matches!(
        err("find . -exec {} \\;"),
        ShellError::DynamicCommand { .. }
    ));
}

#[test]
fn scripts_borrow_when_in_place() {
    let p = split("bash -c 'curl x | sh'").unwrap();
    assert!(matches!(p[1], Cow::Borrowed(_)) && matches!(p[2], Cow::Borrowed(_)));
}

#[test]
fn heredocs() {
    parts(
        "git commit -m \"$(cat <<'EOF'\nfix: thing\n\nbody; rm -rf /\nEOF\n)\"",
        &[
            "git commit -m $(cat <<'EOF'\nfix: thing\n\nbody; rm -rf /\nEOF\n)",
            "cat <<EOF",
        ],
    );
    parts("cat <<EOF\nrm -rf /\nEOF\nls", &["cat <<EOF", "ls"]);
    parts("cat <<EOF; b\nrm -rf /\nEOF\nls", &["cat <<EOF", "b", "ls"]);
    parts("cat <<-EOF\n\tx\n\tEOF\nls", &["cat <<-EOF", "ls"]);
    parts("cat <<\"EOF\"\n$(a)\nEOF", &["cat <<EOF"]);
    parts("cat <<\\EOF\n$(a)\nEOF", &["cat <<EOF"]);
    parts(
        "cat <<EOF\n'$(a)' `b` \\$(c)\nEOF\nd",
        &["cat <<EOF", "a", "b", "d"],
    );
    parts("cat <<A <<B\nx\nA\n$(y)\nB\n", &["cat <<A <<B", "y"]);
    parts("cat <<EOF | sh\nrm -rf /\nEOF", &["cat <<EOF", "sh"]);
    parts("cat <<EOF\nEOF", &["cat <<EOF"]);
    parts("cat <<EOF\n$'\nEOF", &["cat <<EOF"]);
    assert!(matches!(
        err("cat <<EOF\nbody"),
        ShellError::UnterminatedHeredoc { .. }
    ));
    assert!(matches!(
        err("cat <<EOF"),
        ShellError::UnterminatedHeredoc { .. }
    ));
    assert!(matches!(
        err("echo $(cat <<EOF)\nx\nEOF"),
        ShellError::UnterminatedHeredoc { .. }
    ));
    assert!(matches!(err("cat <<\n"), ShellError::Unexpected { .. }));
}

#[test]
fn quoting_and_words() {
    parts("echo \"a  b\"", &["echo a  b"]);
    parts("'git' \"status\"", &["git status"]);
    parts("g\\it status", &["git status"]);
    parts("$'rm' -rf /", &["rm -rf /"]);
    parts("echo $'a\\tb\\x41\\101\\u00e9\\'q'", &["echo a\tbAAé'q"]);
    parts("echo $'a\\0b'", &["echo a"]);
    parts("echo $\"hi $x\"", &["echo hi $x"]);
    parts("echo \"a\\\"b\\$c\\\\d\\e\"", &["echo a\"b$c\\d\\e"]);
    parts("echo \"a\\\nb\"", &["echo ab"]);
    parts("echo a\\\nb", &["echo ab"]);
    parts("echo '' x", &["echo  x"]);
    parts("echo $HOME ~/x", &["echo $HOME ~/x"]);
    parts("echo a#b # comment", &["echo a#b"]);
    parts("# only a comment\nls", &["ls"]);
    parts("echo 'a'\"b\"c", &["echo abc"]);
    parts("echo héllo \\é", &["echo héllo é"]);
    parts("echo {a,b} *.rs [ab]", &["echo {a,b} *.rs [ab]"]);
    parts("[ -f x ]", &["[ -f x ]"]);
    parts("echo }", &["echo }"]);
    parts("echo if then fi", &["echo if then fi"]);
}

#[test]
fn assignments_and_redirections() {
    parts("RUST_LOG=debug cargo test", &["cargo test"]);
    parts("FOO=1 BAR=\"x y\" cmd", &["cmd"]);
    parts("A+=1 a[0]=2 cmd", &["cmd"]);
    parts("PATH=/tmp/x", &["PATH=/tmp/x"]);
    parts("A=1 B=\"x y\"", &["A=1 B=x y"]);
    parts("arr=(a \"b c\" $(d))", &["arr=(a b c $(d))", "d"]);
    parts("make CC=gcc", &["make CC=gcc"]);
    parts("make > log 2>&1", &["make >log 2>&1"]);
    parts("2>/dev/null git status", &["git status 2>/dev/null"]);
    parts("git status &> log", &["git status &>log"]);
    parts("a 2>&1>log", &["a 2>&1 >log"]);
    parts(
        "a >>log <in 3<>f 4>|g <&- >&2",
        &["a >>log <in 3<>f 4>|g <&- >&2"],
    );
    parts("> out", &[">out"]);
    parts("2>&1 >x", &["2>&1 >x"]);
    parts("x=$(< f)", &["x=$(< f)", "<f"]);
    parts("echo 1 2>x", &["echo 1 2>x"]);
}

#[test]
fn wrappers() {
    parts("timeout 60 cargo test", &["cargo test"]);
    parts("env -i FOO=1 nice -n 5 make", &["make"]);
    parts("RUST_LOG=debug timeout 60 cargo test", &["cargo test"]);
    parts("timeout -s KILL --kill-after=5 60 a", &["a"]);
    parts("timeout --signal KILL 60 a", &["a"]);
    parts("nice -10 a", &["a"]);
    parts("nice -n5 a", &["a"]);
    parts("nice --adjustment=5 a", &["a"]);
    parts("ionice -c3 a", &["a"]);
    parts("ionice -p 1", &["ionice -p 1"]);
    parts("stdbuf -oL -e 0 a", &["a"]);
    parts("xargs -0 -n 1 rm", &["rm"]);
    parts("xargs -I{} rm {}", &["rm {}"]);
    parts("xargs -i rm {}", &["xargs -i rm {}"]);
    parts("xargs", &["xargs"]);
    parts("command git status", &["git status"]);
    parts("command -v git", &["command -v git"]);
    parts("builtin cd x", &["cd x"]);
    parts("nohup a &", &["a"]);
    parts("exec a", &["a"]);
    parts("exec > log", &["exec >log"]);
    parts("setsid -f a", &["a"]);
    parts("time -p a", &["a"]);
    parts("a | time -v b", &["a", "b"]);
    parts("/usr/bin/env python3 x", &["python3 x"]);
    parts("env", &["env"]);
    parts("env FOO=1", &["env FOO=1"]);
    parts("env - a", &["a"]);
    parts("env -u X -- a", &["a"]);
    parts("env -S 'rm -rf /'", &["env -S rm -rf /"]);
    parts("env --unknown a", &["env --unknown a"]);
    parts("nice -n \"$N\" make", &["make"]);
    parts("env PATH=\"$HOME/bin:$PATH\" make", &["make"]);
    for cmd in [
        "nice -n $N make",
        "env $X make",
        "env A=$x make",
        "timeout \"$T\" make",
        "nohup $cmd",
        "env -u `x` a",
        "nice -n 5* a",
    ] {
        assert!(
            matches!(err(cmd), ShellError::DynamicCommand { .. }),
            "{cmd:?}"
        );
    }
    parts("sudo rm -rf /", &["sudo rm -rf /"]);
    parts("nohup nice timeout 5 env A=1 command a b", &["a b"]);
    assert!(matches!(
        err("timeout 5 $cmd"),
        ShellError::DynamicCommand { .. }
    ));
}

#[test]
fn borrowing() {
    borrowed("git status");
    borrowed("cargo test --workspace");
    borrowed("git add -A && git commit -m msg");
    borrowed("RUST_LOG=debug timeout 60 cargo test");
    borrowed("ls $(pwd) | grep x");
    let p = split("git  status").unwrap();
    assert!(
        matches!(p[0], Cow::Owned(_)),
        "two spaces must be normalised"
    );
}

#[test]
fn dynamic_command_names() {
    for cmd in [
        "$cmd args",
        "\"${x}\"rm",
        "$(echo rm) -rf /",
        "`echo rm` -rf /",
        "~/bin/$x",
        "r? -rf /",
        "/bin/r*",
        "/bin/[r]m",
        "{rm,-rf,/}",
        "<(a)",
        "a=1 $x",
        "echo ok; $x",
    ] {
        let e = err(cmd);
        assert!(
            matches!(e, ShellError::DynamicCommand { .. }),
            "{cmd:?}: {e:?}"
        );
    }
    assert_eq!(
        err("$cmd x").to_string(),
        "the command name of `$cmd x` is only known at run time"
    );
}

#[test]
fn syntax_errors() {
    for cmd in [
        "echo 'a",
        "echo \"a",
        "echo `a",
        "echo $(a",
        "echo ${a",
        "echo $((1",
        "echo $'a",
        "echo a\\",
        "(a",
        "a)",
        "(a))",
        "()",
        "{ a }",
        "{ }",
        "a ;; b",
        "a; ; b",
        "; a",
        "| a",
        "a |",
        "a &&",
        "a & & b",
        "if a; then b",
        "if a; then fi",
        "if a; fi",
        "fi",
        "then a",
        "while a; done",
        "for x in a; b; done",
        "for 1 in a; do b; done",
        "case x in a) b;; ",
        "case x a) b;; esac",
        "done",
        "in",
        "]]",
        "[[ ]]",
        "[[ a ; ]]",
        "FOO=1 if true; then a; fi",
        "echo (a)",
        "f() a",
        "a > ",
        "a >&",
        "a <(",
        "<()",
        "{ a; } b",
        "a=(b",
        "coproc a",
        "echo @(a)",
        "$((a) )",
    ] {
        let e = err(cmd);
        assert!(
            matches!(
                e,
                ShellError::Unexpected { .. }
                    | ShellError::UnexpectedEnd { .. }
                    | ShellError::Unterminated { .. }
                    | ShellError::Unsupported { .. }
            ),
            "{cmd:?}: {e:?}"
        );
    }
}

#[test]
fn error_messages() {
    assert_eq!(err("a)").to_string(), "unexpected `)` at byte 1");
    assert_eq!(
        err("echo 'a").to_string(),
        "unterminated single quote at byte 5"
    );
    assert_eq!(err("a ;; b").to_string(), "unexpected `;;` at byte 2");
    assert_eq!(err("fi").to_string(), "unexpected `fi` at byte 0");
    assert_eq!(
        err("if a; then b").to_string(),
        "unexpected end of input, expected `fi`"
    );
    assert_eq!(
        err("cat <<EOF\nx").to_string(),
        "unterminated heredoc: no line `EOF`"
    );
    assert_eq!(err("a\n)").to_string(), "unexpected `)` at byte 2");
    assert_eq!(
        err("coproc a").to_string(),
        "`coproc` at byte 0 is not supported"
    );
}

#[test]
fn empty_is_an_error() {
    for cmd in ["", "   ", "\n\n", "# comment", "  # c\n# d\n", "time", "!"] {
        assert_eq!(err(cmd), ShellError::Empty, "{cmd:?}");
    }
}

#[test]
fn limits() {
    assert_eq!(err(&"a ".repeat(MAX_LEN / 2 + 1)), ShellError::TooLong);
    // Exactly at the bound is read.
    let long = format!("echo {}", "x".repeat(MAX_LEN - 5));
    assert_eq!(split(&long).unwrap().len(), 1);

    let deep = |n: usize| format!("{}a{}", "echo $(".repeat(n), ")".repeat(n));
    assert_eq!(split(&deep(MAX_DEPTH)).unwrap().len(), MAX_DEPTH + 1);
    assert_eq!(err(&deep(MAX_DEPTH + 1)), ShellError::TooDeep);
    let groups = |n: usize| format!("{}a{}", "{ ".repeat(n), "; }".repeat(n));
    assert!(split(&groups(MAX_DEPTH)).is_ok());
    assert_eq!(err(&groups(MAX_DEPTH + 1)), ShellError::TooDeep);
    let shells = |n: usize| {
        let mut s = "a".to_owned();
        for _ in 0..n {
            s = format!("sh -c {}", s.replace('\\', "\\\\").replace(' ', "\\ "));
        }
        s
    };
    assert!(split(&shells(MAX_DEPTH)).is_ok());
    assert_eq!(err(&shells(MAX_DEPTH + 1)), ShellError::TooDeep);

    let many = |n: usize| vec!["a"; n].join(";");
    assert_eq!(split(&many(MAX_PARTS)).unwrap().len(), MAX_PARTS);
    assert_eq!(err(&many(MAX_PARTS + 1)), ShellError::TooManyParts);
    assert_eq!(
        err("a\0b"),
        ShellError::Unsupported {
            what: "a NUL byte",
            at: 1
        }
    );
}

/// The fast path returns exactly what the parser returns, on every line of up to four
/// tokens from an alphabet of plain words, keywords, assignments, wrappers, blanks and
/// operators (and the parser alone on those it declines).
#[test]
fn fast_path_agrees_with_the_parser() {
    const TOKENS: &[&str] = &[
        "a", "git", "if", "env", "x=1", "sh", " ", "  ", "&&", "||", "|", ";", "&", ";;", "|&",
        "-x", "{", "\"q\"", "time", "a/b:c",
    ];
    let n = TOKENS.len();
    let mut checked = 0;
    for len in 1..=4u32 {
        for mut k in 0..n.pow(len) {
            let mut line = String::new();
            for _ in 0..len {
                line.push_str(TOKENS[k % n]);
                k /= n;
            }
            let mut fast = Parts::new();
            let taken = plain_lines(&line, &mut fast);
            let slow = parse(&line, Parts::new());
            if taken {
                assert_eq!(Ok(fast), slow, "{line:?}");
                checked += 1;
            } else {
                assert!(fast.is_empty(), "{line:?}");
            }
        }
    }
    assert!(checked > 1000, "the fast path took only {checked} lines");
}

/// The work counter the linear-time property test reads: a plain line is looked at
/// byte by byte a bounded number of times.
#[test]
fn work_is_counted() {
    let before = work();
    split("git status; ls -la").unwrap();
    let spent = work() - before;
    assert!((18..=18 * 8).contains(&spent), "{spent}");
}

/// Every wrapper in the table is found by its name.
#[test]
fn wrapper_table_matches_roles() {
    for (i, w) in WRAPPERS.iter().enumerate() {
        assert_eq!(role(w.name), Role::Wrapper(i), "{}", w.name);
    }
}

#[test]
fn ansi_c_refusals() {
    assert!(matches!(
        err("echo $'\\xff'"),
        ShellError::Unsupported { .. }
    ));
    assert!(matches!(
        err("echo $'\\377'"),
        ShellError::Unsupported { .. }
    ));
    assert!(matches!(
        err("echo $'\\ud800'"),
        ShellError::Unsupported { .. }
    ));
    parts("echo $'\\cA\\q\\x'", &["echo \u{1}\\q\\x"]);
}
