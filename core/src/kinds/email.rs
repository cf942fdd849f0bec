//! Email addresses and address lists (`docs/semantics.md` §2.13).
//!
//! A recipient field may name several people (`a@x.com, Eve <eve@evil.com>`); a policy
//! that admits `*@yourcompany.com` must see every address, or one internal address would
//! carry any number of external ones. An address's domain is case-insensitive (lower-cased,
//! a trailing dot dropped); its local part is kept as written.
//!
//! The list syntax read is the part of RFC 5322 that mail clients produce for recipients:
//! addresses separated by `,` or `;`, each either bare (`bob@x.com`) or with a display
//! name (`Bob Smith <bob@x.com>`, `"Smith, Bob" <bob@x.com>`). Comments, groups and quoted
//! local parts are refused rather than guessed at: a list that cannot be read is denied.
//! No crate was used: the mail parsers on the registry bring character-set tables (for
//! header decoding we do not need) that would more than double the WebAssembly build.

use std::borrow::Cow;

use smallvec::SmallVec;

/// The most addresses a list may hold; a longer one is refused.
pub(crate) const MAX_ADDRESSES: usize = 100;

/// The addresses of a list, canonical, in order.
pub(crate) type Addresses<'r> = SmallVec<[Cow<'r, str>; 4]>;

/// The `@` of a lone bare address: exactly one, not first or last, no white space or `/`.
pub(crate) fn single_at(s: &str) -> Option<usize> {
    let mut at = None;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'@' if at.is_some() => return None,
            b'@' => at = Some(i),
            b'/' | b',' | b';' | b'<' | b'>' | b'"' => return None,
            b if b.is_ascii_whitespace() => return None,
            // Non-ASCII: decide by characters (Unicode white space).
            0x80.. => return single_at_unicode(s),
            _ => {}
        }
    }
    at.filter(|&i| i > 0 && i + 1 < s.len())
}

fn single_at_unicode(s: &str) -> Option<usize> {
    if s.contains(|c: char| c.is_whitespace() || "/,;<>\"".contains(c))
        || s.matches('@').count() != 1
    {
        return None;
    }
    let at = s.find('@')?;
    (at > 0 && at + 1 < s.len()).then_some(at)
}

/// Whether `s` has the shape of an address list or of an address with a display name.
pub(crate) fn looks_like_list(s: &str) -> bool {
    s.contains('@') && s.contains([',', ';', '<'])
}

/// The canonical form of one bare address whose `@` is at `at`.
pub(crate) fn canonical_address(s: &str, at: usize) -> Cow<'_, str> {
    let domain = &s[at + 1..];
    if !domain.ends_with('.') && !domain.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        return Cow::Borrowed(s);
    }
    let domain = domain.to_lowercase();
    Cow::Owned([&s[..at], "@", domain.trim_end_matches('.')].concat())
}

/// Reads an address list (or one address, with or without a display name).
pub(crate) fn read_list(s: &str) -> Result<Addresses<'_>, String> {
    let mut out = Addresses::new();
    let mut rest = s;
    loop {
        let (addr, after) = item(rest)?;
        if out.len() == MAX_ADDRESSES {
            return Err(format!("more than {MAX_ADDRESSES} addresses"));
        }
        out.push(addr);
        let after = after.trim_start();
        match after.chars().next() {
            None => break,
            Some(',' | ';') => {
                rest = &after[1..];
                // A trailing separator is what many clients leave behind.
                if rest.trim().is_empty() {
                    break;
                }
            }
            Some(c) => return Err(format!("expected `,` between addresses, found `{c}`")),
        }
    }
    Ok(out)
}

/// One list item: a bare address, or a display name and `<address>`. Returns the canonical
/// address and the text after the item.
fn item(s: &str) -> Result<(Cow<'_, str>, &str), String> {
    let s = s.trim_start();
    if let Some(quoted) = s.strip_prefix('"') {
        let close = quoted
            .find('"')
            .ok_or_else(|| "unterminated quoted display name".to_owned())?;
        let after = quoted[close + 1..].trim_start();
        if !after.starts_with('<') {
            return Err("a quoted display name must be followed by `<address>`".to_owned());
        }
        return bracketed(after);
    }
    let end = s.find([',', ';', '<']).unwrap_or(s.len());
    if s[end..].starts_with('<') {
        let name = &s[..end];
        if name.contains(['@', '(', ')', '"', '>']) {
            return Err(format!("cannot read display name `{}`", name.trim()));
        }
        return bracketed(&s[end..]);
    }
    let bare = s[..end].trim_end();
    Ok((address(bare)?, &s[end..]))
}

/// `<address>` at the start of `s`.
fn bracketed(s: &str) -> Result<(Cow<'_, str>, &str), String> {
    let inner_end = s
        .find('>')
        .ok_or_else(|| "unterminated `<` in an address".to_owned())?;
    Ok((address(s[1..inner_end].trim())?, &s[inner_end + 1..]))
}

fn address(s: &str) -> Result<Cow<'_, str>, String> {
    if s.is_empty() {
        return Err("an empty address".to_owned());
    }
    if s.contains(['(', ')', ':', '"', '<', '>', '[', ']', '\\']) {
        return Err(format!("cannot read address `{s}`"));
    }
    match single_at(s) {
        Some(at) => Ok(canonical_address(s, at)),
        None => Err(format!("`{s}` is not an address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Result<Vec<String>, String> {
        read_list(s).map(|v| v.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn lists_and_display_names() {
        assert_eq!(
            list("a@evil.com, b@yourcompany.com").as_deref(),
            Ok(&["a@evil.com".to_owned(), "b@yourcompany.com".to_owned()][..])
        );
        assert_eq!(
            list("Eve <eve@EVIL.com>").as_deref(),
            Ok(&["eve@evil.com".to_owned()][..])
        );
        assert_eq!(
            list("\"Smith, Bob\" <bob@x.com>; carol@y.com.,").as_deref(),
            Ok(&["bob@x.com".to_owned(), "carol@y.com".to_owned()][..])
        );
    }

    #[test]
    fn unreadable_lists_are_refused() {
        assert!(list("a@x.com, ").is_ok());
        assert!(list("a@x.com,, b@y.com").is_err());
        assert!(list("Team: a@x.com;").is_err());
        assert!(list("a@x.com (work)").is_err());
        assert!(list("<a@x.com").is_err());
        assert!(list("\"a b\"@x.com").is_err());
        assert!(list("a@x.com b@y.com").is_err());
    }

    #[test]
    fn single_addresses() {
        assert_eq!(single_at("Bob@YourCompany.COM"), Some(3));
        assert_eq!(
            canonical_address("Bob@YourCompany.COM", 3),
            "Bob@yourcompany.com"
        );
        assert_eq!(canonical_address("bob@evil.com.", 3), "bob@evil.com");
        assert_eq!(single_at("a@b@c"), None);
        assert_eq!(single_at("a@"), None);
        assert_eq!(single_at("a, b@c"), None);
    }
}
