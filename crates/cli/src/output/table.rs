//! A table like kubectl's: upper-case headers, columns padded to their
//! widest cell and three spaces apart; status words colored on a terminal.

use super::color::{self, Color};

/// Rows of cells under a header.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The columns whose cells are status words to color.
    status_columns: Vec<usize>,
}

impl Table {
    /// A table with these column names.
    pub(crate) fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            ..Table::default()
        }
    }

    /// Marks the columns named `names` as status columns (colored).
    pub(crate) fn status_columns(mut self, names: &[&str]) -> Table {
        self.status_columns = self
            .header
            .iter()
            .enumerate()
            .filter(|(_, h)| names.contains(&h.as_str()))
            .map(|(i, _)| i)
            .collect();
        self
    }

    /// Adds a row (as many cells as the header).
    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        widths
    }

    fn line(&self, cells: &[String], widths: &[usize], colored: bool, header: bool) -> String {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = if i == last {
                0
            } else {
                widths[i].saturating_sub(cell.chars().count()) + 3
            };
            let painted = match color::of_status(cell) {
                Some(c) if !header && self.status_columns.contains(&i) => {
                    color::paint(cell, c, colored)
                }
                _ if header => color::paint(cell, Color::Bold, colored),
                _ => cell.clone(),
            };
            out.push_str(&painted);
            out.push_str(&" ".repeat(pad));
        }
        out
    }

    /// The table as text (with a trailing newline), header included.
    pub(crate) fn render(&self, colored: bool) -> String {
        let widths = self.widths();
        let mut out = self.line(&self.header, &widths, colored, true);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&self.line(row, &widths, colored, false));
            out.push('\n');
        }
        out
    }

    /// The last row only, padded like the rest (for `--watch`).
    pub(crate) fn render_last(&self, colored: bool) -> String {
        let widths = self.widths();
        self.rows
            .last()
            .map(|row| format!("{}\n", self.line(row, &widths, colored, false)))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned() {
        let mut t = Table::new(&["NAME", "SYNC"]).status_columns(&["SYNC"]);
        t.push(vec!["guestbook".into(), "Synced".into()]);
        t.push(vec!["a".into(), "OutOfSync".into()]);
        assert_eq!(
            t.render(false),
            "NAME        SYNC\nguestbook   Synced\na           OutOfSync\n"
        );
        let colored = t.render(true);
        assert!(colored.contains("\x1b[32mSynced\x1b[0m"), "{colored:?}");
        assert!(colored.contains("\x1b[33mOutOfSync\x1b[0m"), "{colored:?}");
    }
}
