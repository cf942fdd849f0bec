//! Aligned text tables: columns padded by display width (so wide characters line up),
//! colour applied after padding (escape codes take no cells), the last column unpadded.

use unicode_width::UnicodeWidthStr;

use crate::render::{BOLD, Renderer};

/// One table, built row by row.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<(String, &'static str)>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row of plain cells.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| (c, "")).collect());
    }

    /// Adds a row whose cells carry a style each (`""` for none).
    pub fn styled_row(&mut self, cells: Vec<(String, &'static str)>) {
        self.rows.push(cells);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table, or `empty` (a line saying there is nothing) when it has no row: a
    /// header over nothing would read as a broken listing.
    pub fn render_or(&self, r: &Renderer, empty: &str) -> String {
        if self.is_empty() {
            empty.to_owned()
        } else {
            self.render(r)
        }
    }

    /// The table as lines of text, header first.
    pub fn render(&self, r: &Renderer) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(self.header.len()))
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        let header: Vec<(String, &'static str)> =
            self.header.iter().map(|h| (h.clone(), BOLD)).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            for (i, (text, _)) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(text.width());
                }
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (text, style)) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let last = i + 1 == row.len();
                let pad = if last {
                    0
                } else {
                    widths
                        .get(i)
                        .copied()
                        .unwrap_or(0)
                        .saturating_sub(text.width())
                };
                line.push_str(&r.paint(style, text));
                line.push_str(&" ".repeat(pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width() {
        let mut t = Table::new(&["ID", "NAME", "TAGS"]);
        t.row(vec!["a".into(), "日本".into(), "x".into()]);
        t.row(vec!["bbbb".into(), "n".into(), "-".into()]);
        assert_eq!(
            t.render(&Renderer::plain()),
            "ID    NAME  TAGS\na     日本  x\nbbbb  n     -\n"
        );
    }
}
