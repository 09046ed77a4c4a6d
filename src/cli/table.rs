//! Tables for people, drawn like the original's (rich's heavy-head box), titled and padded.

/// A titled table of text cells.
pub struct Table<'a> {
    pub title: &'a str,
    pub headers: &'a [&'a str],
    pub rows: Vec<Vec<String>>,
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn line(out: &mut String, widths: &[usize], left: char, fill: char, mid: char, right: char) {
    out.push(left);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            out.push(mid);
        }
        out.extend(std::iter::repeat_n(fill, w + 2));
    }
    out.push(right);
    out.push('\n');
}

fn cells(out: &mut String, widths: &[usize], values: &[String], sep: char) {
    out.push(sep);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        let v = values.get(i).map_or("", String::as_str);
        out.push(' ');
        out.push_str(v);
        out.extend(std::iter::repeat_n(' ', w - width(v) + 1));
    }
    out.push(sep);
    out.push('\n');
}

impl Table<'_> {
    /// Render to a string ending with a newline.
    #[must_use]
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    // Cells are single-line: newlines inside would break the box.
                    *w = (*w).max(width(c));
                }
            }
        }
        let total: usize = widths.iter().map(|w| w + 3).sum::<usize>() + 1;
        let mut out = String::new();
        if !self.title.is_empty() {
            let pad = total.saturating_sub(width(self.title)) / 2;
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(self.title);
            out.push('\n');
        }
        line(&mut out, &widths, '┏', '━', '┳', '┓');
        let headers: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        cells(&mut out, &widths, &headers, '┃');
        line(&mut out, &widths, '┡', '━', '╇', '┩');
        for row in &self.rows {
            cells(&mut out, &widths, row, '│');
        }
        line(&mut out, &widths, '└', '─', '┴', '┘');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_render_pads_every_cell_to_its_column() {
        let t = Table {
            title: "T",
            headers: &["Version", "Description"],
            rows: vec![
                vec!["1".into(), "create users".into()],
                vec!["10.2".into(), "é".into()],
            ],
        };
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "┏━━━━━━━━━┳━━━━━━━━━━━━━━┓");
        assert_eq!(lines[2], "┃ Version ┃ Description  ┃");
        assert_eq!(lines[4], "│ 1       │ create users │");
        assert_eq!(lines[5], "│ 10.2    │ é            │");
        assert_eq!(lines[6], "└─────────┴──────────────┘");
    }
}
