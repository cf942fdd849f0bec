//! Policy text to a tree of spanned nodes.
//!
//! Why not deserialize straight into structs: a person fixing a policy needs the line and
//! column of *every* bad value (a bad glob, a malformed time), the position of the second
//! key of a duplicate pair, and hard limits against alias bombs and absurd nesting. So the
//! YAML 1.2 event parser (`saphyr-parser`) feeds this small tree builder, which keeps a
//! span on every node and enforces the limits as it goes; `schema` then reads the tree.
//! JSON is a subset of YAML 1.2, so JSON files go through the same builder after
//! `serde_json` has checked their syntax (its messages speak JSON).
//!
//! Aliases are expanded by copying the anchored node, so a small text can describe a huge
//! tree: nine aliases of a list of nine aliases of ... (counted in nodes), or thousands of
//! aliases of one long string (counted in bytes: 3,000 aliases of a 1 MiB string would
//! copy 3 GB). Both counts are checked *before* an alias is copied, and an anchor keeps no
//! copy of a list or mapping, only where it lies in the tree, so the memory a text can
//! make the builder take is bounded by [`MAX_NODES`] and [`MAX_EXPANDED_BYTES`].

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};

use crate::error::PolicyError;
use crate::source::{Format, Pos, Span};

mod syntax;

use syntax::{check_characters, check_json_syntax, syntax_error};

/// Deepest nesting accepted; policies need about eight levels.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most nodes one file may expand to, aliases included.
pub(crate) const MAX_NODES: usize = 200_000;
/// Largest policy text accepted, in bytes; hosts may stop reading a file past it.
pub const MAX_TEXT: usize = 8 * 1024 * 1024;
/// Most bytes one file may expand to, aliases included: the strings' lengths (mapping keys
/// included) plus [`NODE_BYTES`] a node.
///
/// Twice the text limit (16 MiB), so a text without aliases never reaches it: its strings
/// hold at most 1.5 times its length (the escapes `\L` and `\P` write three bytes with two
/// characters; everything else shrinks or keeps its length), 12 MiB, and its nodes at most
/// 200,000 × 16 bytes, 3.1 MiB. An alias bomb stops at about 16 MiB of copies.
pub(crate) const MAX_EXPANDED_BYTES: usize = 2 * MAX_TEXT;
/// What a node counts towards [`MAX_EXPANDED_BYTES`] besides its string: so that aliases of
/// many short strings or empty lists count too (their number is also bounded by
/// [`MAX_NODES`]).
pub(crate) const NODE_BYTES: usize = 16;

const _: () = assert!(MAX_TEXT / 2 * 3 + MAX_NODES * NODE_BYTES < MAX_EXPANDED_BYTES);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string (quoted scalars are always strings).
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    /// How the node's kind is named in messages.
    pub fn describe(&self) -> &'static str {
        match self.kind {
            Kind::Null => "nothing",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

fn span(s: &YSpan) -> Span {
    Span {
        start: pos(&s.start),
        end: pos(&s.end),
    }
}

/// Parses a policy text into its documents (one for JSON, any number for YAML).
/// Empty documents are dropped.
pub(crate) fn parse(text: &str, format: Format) -> Result<Vec<Node>, PolicyError> {
    if text.len() > MAX_TEXT {
        return Err(PolicyError::TooLarge {
            message: format!(
                "policy text of {} bytes exceeds the limit of {} bytes",
                text.len(),
                MAX_TEXT
            ),
            span: Span::file_start(),
        });
    }
    check_characters(text)?;
    if format == Format::Json {
        check_json_syntax(text)?;
    }
    Builder::default().run(text)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
        before: Size,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pending: Option<Key>,
        start: Span,
        anchor: usize,
        before: Size,
    },
}

impl Frame {
    /// How many children are complete; the one being built gets this index.
    fn len(&self) -> usize {
        match self {
            Frame::Seq { items, .. } => items.len(),
            Frame::Map { entries, .. } => entries.len(),
        }
    }

    fn child(&self, i: usize) -> Option<&Node> {
        match self {
            Frame::Seq { items, .. } => items.get(i),
            Frame::Map { entries, .. } => entries.get(i).map(|(_, v)| v),
        }
    }
}

/// What a (sub)tree counts towards the limits.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn of_scalar(kind: &Kind) -> Size {
        let text = match kind {
            Kind::Str(s) => s.len(),
            _ => 0,
        };
        Size {
            nodes: 1,
            bytes: NODE_BYTES + text,
        }
    }
}

/// What an alias copies.
enum Anchored {
    /// A scalar, copied when anchored: each scalar of the text is copied at most once.
    Scalar(Node),
    /// A list or mapping, found again in the tree: document `doc` (the index it has or
    /// will have in `docs`), then the child at each index of `path`.
    At { doc: usize, path: Vec<usize> },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Anchored, Size)>,
    /// The tree so far, aliases expanded.
    size: Size,
    docs: Vec<Node>,
}

impl Builder {
    fn run(mut self, text: &str) -> Result<Vec<Node>, PolicyError> {
        let mut parser = Parser::new_from_str(text);
        while let Some(item) = parser.next_event() {
            let (event, ys) = item.map_err(|e| syntax_error(&e, text))?;
            let sp = span(&ys);
            match event {
                Event::StreamStart
                | Event::StreamEnd
                | Event::DocumentStart(_)
                | Event::DocumentEnd
                | Event::Nothing => {}
                Event::Alias(id) => {
                    let unknown = || PolicyError::Syntax {
                        message: "alias to an unknown anchor".to_owned(),
                        help: None,
                        span: sp,
                    };
                    // Counted before the copy is made: the copy is what may not fit.
                    let size = self.anchors.get(&id).map(|(_, size)| *size);
                    self.add(size.ok_or_else(unknown)?, sp)?;
                    let node = match self.anchors.get(&id) {
                        Some((Anchored::Scalar(node), _)) => Some(node),
                        Some((Anchored::At { doc, path }, _)) => self.find(*doc, path),
                        None => None,
                    };
                    let node = node.cloned().ok_or_else(unknown)?;
                    self.finish(Node { span: sp, ..node })?;
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let kind = scalar(&value, style, tag.as_deref(), sp)?;
                    let size = Size::of_scalar(&kind);
                    self.add(size, sp)?;
                    let node = Node { kind, span: sp };
                    if anchor > 0 {
                        self.anchors
                            .insert(anchor, (Anchored::Scalar(node.clone()), size));
                    }
                    self.finish(node)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    let before = self.size;
                    self.open(sp, tag.as_deref())?;
                    self.stack.push(Frame::Seq {
                        items: Vec::new(),
                        start: sp,
                        anchor,
                        before,
                    });
                }
                Event::MappingStart(anchor, tag) => {
                    let before = self.size;
                    self.open(sp, tag.as_deref())?;
                    self.stack.push(Frame::Map {
                        entries: Vec::new(),
                        pending: None,
                        start: sp,
                        anchor,
                        before,
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (kind, start, anchor, before) = match self.stack.pop() {
                        Some(Frame::Seq {
                            items,
                            start,
                            anchor,
                            before,
                        }) => (Kind::Seq(items), start, anchor, before),
                        Some(Frame::Map {
                            entries,
                            start,
                            anchor,
                            before,
                            ..
                        }) => (Kind::Map(entries), start, anchor, before),
                        None => continue,
                    };
                    let node = Node {
                        kind,
                        span: Span {
                            start: start.start,
                            end: sp.end.max(start.end),
                        },
                    };
                    if anchor > 0 {
                        // Everything counted since the node opened is the node, its
                        // aliases expanded: what each alias of it will copy.
                        let size = Size {
                            nodes: self.size.nodes.saturating_sub(before.nodes),
                            bytes: self.size.bytes.saturating_sub(before.bytes),
                        };
                        let at = self.here();
                        self.anchors.insert(anchor, (at, size));
                    }
                    self.finish(node)?;
                }
            }
        }
        Ok(self.docs)
    }

    /// Where the node about to be finished will lie: the index each open frame's child
    /// being built has (the last one is this node's).
    fn here(&self) -> Anchored {
        Anchored::At {
            doc: self.docs.len(),
            path: self.stack.iter().map(Frame::len).collect(),
        }
    }

    /// The node at `path` in document `doc`, finished or still being built.
    fn find(&self, doc: usize, path: &[usize]) -> Option<&Node> {
        fn descend<'n>(mut node: &'n Node, path: &[usize]) -> Option<&'n Node> {
            for &i in path {
                node = match &node.kind {
                    Kind::Seq(items) => items.get(i)?,
                    Kind::Map(entries) => &entries.get(i)?.1,
                    _ => return None,
                };
            }
            Some(node)
        }
        if let Some(root) = self.docs.get(doc) {
            return descend(root, path);
        }
        // The document is still open: its frames are the stack, from the root. Follow the
        // path through them until it reaches a finished child.
        for (depth, (frame, &i)) in self.stack.iter().zip(path).enumerate() {
            if let Some(child) = frame.child(i) {
                return descend(child, path.get(depth + 1..)?);
            }
        }
        None
    }

    fn open(&mut self, sp: Span, tag: Option<&saphyr_parser::Tag>) -> Result<(), PolicyError> {
        if let Some(tag) = tag {
            return Err(unsupported_tag(tag, sp));
        }
        self.add(
            Size {
                nodes: 1,
                bytes: NODE_BYTES,
            },
            sp,
        )?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(PolicyError::TooDeep {
                limit: MAX_DEPTH,
                span: sp,
            });
        }
        Ok(())
    }

    /// Counts `size` more towards the limits; `sp` is blamed if one is crossed.
    fn add(&mut self, size: Size, sp: Span) -> Result<(), PolicyError> {
        self.size.nodes = self.size.nodes.saturating_add(size.nodes);
        if self.size.nodes > MAX_NODES {
            return Err(PolicyError::TooLarge {
                message: format!(
                    "document expands to more than {MAX_NODES} nodes (aliases included)"
                ),
                span: sp,
            });
        }
        self.size.bytes = self.size.bytes.saturating_add(size.bytes);
        if self.size.bytes > MAX_EXPANDED_BYTES {
            return Err(PolicyError::TooLarge {
                message: format!(
                    "document expands to more than {MAX_EXPANDED_BYTES} bytes (aliases included)"
                ),
                span: sp,
            });
        }
        Ok(())
    }

    /// Hands a complete node to its parent (or makes it a document).
    fn finish(&mut self, node: Node) -> Result<(), PolicyError> {
        match self.stack.last_mut() {
            None => {
                if node.kind != Kind::Null {
                    self.docs.push(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, pending, ..
            }) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    let name = match node.kind {
                        Kind::Str(s) => s,
                        Kind::Int(i) => i.to_string(),
                        Kind::Bool(b) => b.to_string(),
                        Kind::Null | Kind::Float(_) | Kind::Seq(_) | Kind::Map(_) => {
                            return Err(PolicyError::Syntax {
                                message: format!(
                                    "mapping keys must be strings, found {}",
                                    node.describe()
                                ),
                                help: None,
                                span: node.span,
                            });
                        }
                    };
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                        return Err(PolicyError::DuplicateKey {
                            key: name,
                            first_line: first.span.start.line,
                            span: node.span,
                        });
                    }
                    *pending = Some(Key {
                        name,
                        span: node.span,
                    });
                }
            },
        }
        Ok(())
    }
}

/// The parser expands `!!` to the core schema's prefix; show tags as written.
const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

fn is_core_tag(tag: &saphyr_parser::Tag, suffix: &str) -> bool {
    (tag.handle == "!!" || tag.handle == CORE_TAG_PREFIX) && tag.suffix == suffix
}

fn unsupported_tag(tag: &saphyr_parser::Tag, span: Span) -> PolicyError {
    let handle = if tag.handle == CORE_TAG_PREFIX {
        "!!"
    } else {
        tag.handle.as_str()
    };
    PolicyError::Syntax {
        message: format!("unsupported tag `{handle}{}`", tag.suffix),
        help: Some("policies use plain YAML values; remove the tag".to_owned()),
        span,
    }
}

/// Resolves a scalar by the YAML 1.2 core schema: only plain scalars become null,
/// booleans or numbers (`yes`, `no` and `on` stay strings, unlike YAML 1.1).
fn scalar(
    value: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
    sp: Span,
) -> Result<Kind, PolicyError> {
    if let Some(tag) = tag {
        if is_core_tag(tag, "str") {
            return Ok(Kind::Str(value.to_owned()));
        }
        return Err(unsupported_tag(tag, sp));
    }
    if style != ScalarStyle::Plain {
        return Ok(Kind::Str(value.to_owned()));
    }
    Ok(match value {
        "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
        "true" | "True" | "TRUE" => Kind::Bool(true),
        "false" | "False" | "FALSE" => Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Kind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Kind::Float(f64::NAN),
        _ => number(value).unwrap_or_else(|| Kind::Str(value.to_owned())),
    })
}

fn number(s: &str) -> Option<Kind> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned) {
        return Some(match s.parse::<i64>() {
            Ok(i) => Kind::Int(i),
            Err(_) => Kind::Float(s.parse::<f64>().ok()?),
        });
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(Kind::Int);
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(Kind::Int);
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() || digits(int))
                && (frac.is_empty() || digits(frac))
                && !(int.is_empty() && frac.is_empty())
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some()) {
        return s.parse::<f64>().ok().map(Kind::Float);
    }
    None
}

#[cfg(test)]
mod tests;
