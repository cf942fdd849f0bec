//! Reading policy files and directories, and compiling them into one set.
//!
//! Both commands load policies the same way, so that `meshguard validate DIR` passing
//! means `meshguard check --policies DIR` loads exactly the same set, in the same order
//! (and the order matters: ties between rules go to the earliest, docs/semantics.md §4).

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use meshguard_core::{Diagnostic, PolicySet, Source, is_policy_file_name};

/// No policy text is anywhere near this size (the core refuses texts far smaller), so a
/// file larger than this is a mistake (`/dev/zero`, a log file); reading stops here
/// instead of exhausting memory.
const READ_CAP: u64 = 64 * 1024 * 1024;

/// One policy file: the name diagnostics call it by and its text, or, when the bytes are
/// not UTF-8, the diagnostic that says so.
#[derive(Debug)]
pub struct PolicyFile {
    /// The path as the user wrote it (joined with the entry name for directories).
    pub name: String,
    /// The text, or why there is none.
    pub text: Result<String, Diagnostic>,
}

/// Reads every path: a file is read whatever its extension (the user named it); a
/// directory contributes its policy files ([`is_policy_file_name`]: `.yaml`, `.yml`,
/// `.json` in any case, not hidden), not recursively, sorted by file name (byte order, so
/// `10-x.yaml` comes before `9-x.yaml`).
///
/// Fails with one line per path that cannot be read. A directory with no policy file
/// is such a failure too: naming it is almost certainly a mistake (the wrong directory),
/// and loading nothing would silently deny, or with `--fallback allow` allow, everything.
pub fn read_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PolicyFile>, Vec<String>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let path = path.as_ref();
        match fs::metadata(path) {
            Err(e) => errors.push(format!("cannot read `{}`: {e}", path.display())),
            Ok(meta) if meta.is_dir() => match read_dir(path) {
                Ok(found) if found.is_empty() => errors.push(format!(
                    "no policy files (*.yaml, *.yml, *.json) in directory `{}`",
                    path.display()
                )),
                Ok(found) => files.extend(found),
                Err(e) => errors.push(e),
            },
            Ok(_) => match read_file(path) {
                Ok(file) => files.push(file),
                Err(e) => errors.push(e),
            },
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// The policy files directly inside `dir`, in file-name order.
fn read_dir(dir: &Path) -> Result<Vec<PolicyFile>, String> {
    let cannot = |e: std::io::Error| format!("cannot read directory `{}`: {e}", dir.display());
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let name = entry.file_name();
        // The gateway scans with the same function: one directory, one set.
        if name.to_str().is_some_and(is_policy_file_name) {
            names.push(name);
        }
    }
    names.sort();
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        // Follows symlinks: a link to a policy file counts; a subdirectory called
        // `x.yaml` does not. A dangling link is an error, not silently skipped.
        let meta =
            fs::metadata(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        if meta.is_file() {
            files.push(read_file(&path)?);
        }
    }
    Ok(files)
}

/// Reads one file, keeping non-UTF-8 content as a diagnostic so that the other files
/// are still checked and every problem is reported in one run.
fn read_file(path: &Path) -> Result<PolicyFile, String> {
    let name = path.display().to_string();
    let cannot = |e: std::io::Error| format!("cannot read `{name}`: {e}");
    let mut bytes = Vec::new();
    fs::File::open(path)
        .map_err(cannot)?
        .take(READ_CAP + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > READ_CAP {
        return Err(format!(
            "cannot read `{name}`: larger than {} MiB, too large to be a policy file",
            READ_CAP / (1024 * 1024)
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(&name, e.as_bytes(), &e));
    Ok(PolicyFile { name, text })
}

/// A `syntax` diagnostic at the first byte that is not UTF-8. Its message carries the
/// whole story, because it is printed as one line: there is no text to quote.
fn not_utf8(name: &str, bytes: &[u8], error: &std::string::FromUtf8Error) -> Diagnostic {
    let at = error.utf8_error().valid_up_to();
    let valid = bytes
        .get(..at)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line = 1 + valid.matches('\n').count();
    let column = 1 + valid.get(line_start..).map_or(0, |s| s.chars().count());
    let byte = bytes.get(at).copied().unwrap_or_default();
    let (line, column) = (to_u32(line), to_u32(column));
    Diagnostic {
        code: "syntax".to_owned(),
        severity: "error".to_owned(),
        message: format!(
            "not valid UTF-8 text (byte 0x{byte:02X}); policy files must be saved as UTF-8"
        ),
        help: None,
        file: name.to_owned(),
        line,
        column,
        end_line: line,
        end_column: column.saturating_add(1),
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The outcome of compiling what was read.
#[derive(Debug)]
pub struct Compiled {
    /// The files, in load order, kept so diagnostics can quote their text.
    pub files: Vec<PolicyFile>,
    /// The set, when there is no problem at all (nothing is half-loaded).
    pub set: Option<PolicySet>,
    /// Every problem, in file order, in-file order within a file.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// The text of the file a diagnostic names, to quote the offending line.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.text.as_ref().ok())
            .map(String::as_str)
    }
}

/// Compiles every readable file as one set, so that cross-file problems (two policies
/// with one name) are found, and adds the encoding problems of the unreadable ones.
pub fn compile(files: Vec<PolicyFile>) -> Compiled {
    let result = PolicySet::compile(files.iter().filter_map(|f| match &f.text {
        Ok(text) => Some(Source::new(&f.name, text)),
        Err(_) => None,
    }));
    let mut diagnostics: Vec<Diagnostic> = files
        .iter()
        .filter_map(|f| f.text.as_ref().err().cloned())
        .collect();
    let set = match result {
        Ok(set) if diagnostics.is_empty() => Some(set),
        Ok(_) => None,
        Err(e) => {
            diagnostics.extend(e.diagnostics());
            None
        }
    };
    // Stable: the core's diagnostics keep their order within a file.
    let position = |d: &Diagnostic| files.iter().position(|f| f.name == d.file);
    diagnostics.sort_by_key(position);
    Compiled {
        files,
        set,
        diagnostics,
    }
}

/// Why a set could not be loaded: paths that cannot be read, or problems in the policies.
#[derive(Debug)]
pub enum LoadFailure {
    /// One line per path that cannot be read.
    Paths(Vec<String>),
    /// The files were read; these are their problems (boxed: it holds every file).
    Policies(Box<Compiled>),
}

impl LoadFailure {
    /// Reports on stderr the way `validate` does (snippets, carets, a summary).
    pub fn report(&self) -> io::Result<()> {
        match self {
            LoadFailure::Paths(errors) => crate::render::emit_path_errors(errors),
            LoadFailure::Policies(compiled) => crate::render::emit(compiled),
        }
    }

    /// One line for places that cannot show a report (a hook's block reason).
    pub fn summary(&self) -> String {
        match self {
            LoadFailure::Paths(errors) => errors.join("; "),
            LoadFailure::Policies(compiled) => {
                let n = compiled.diagnostics.len();
                match compiled.diagnostics.first() {
                    Some(d) => format!(
                        "{n} problem(s) in the policies; first: {}:{}:{}: {}",
                        d.file, d.line, d.column, d.message
                    ),
                    None => "the policies could not be loaded".to_owned(),
                }
            }
        }
    }
}

/// Reads and compiles `paths` as one set: what `check`, `test`, the hook and the MCP
/// server all load, so `validate` passing means each of them loads the same set.
pub fn load_set<P: AsRef<Path>>(paths: &[P]) -> Result<PolicySet, LoadFailure> {
    let files = read_paths(paths).map_err(LoadFailure::Paths)?;
    let mut compiled = compile(files);
    match compiled.set.take() {
        Some(set) => Ok(set),
        None => Err(LoadFailure::Policies(Box::new(compiled))),
    }
}

/// [`load_set`] for a command that stops when the policies do not load: the failure is
/// reported on stderr (as `validate` does) and `None` returned, so the caller only has to
/// exit with its code.
pub fn load_or_report<P: AsRef<Path>>(paths: &[P]) -> io::Result<Option<PolicySet>> {
    match load_set(paths) {
        Ok(set) => Ok(Some(set)),
        Err(failure) => failure.report().map(|()| None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_utf8_points_at_the_bad_byte() {
        let bytes = b"name: a\nrules: [\xC3\xA9, \xFF]\n".to_vec();
        let result = String::from_utf8(bytes.clone());
        assert!(result.is_err(), "test input must be invalid UTF-8");
        if let Err(e) = result {
            let d = not_utf8("x.yaml", &bytes, &e);
            assert_eq!((d.line, d.column), (2, 12));
            assert_eq!(d.code, "syntax");
            assert!(d.message.contains("0xFF"), "{}", d.message);
        }
    }
}
