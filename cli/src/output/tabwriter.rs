//! Elastic tabstops, as Go's `text/tabwriter` computes them: kubectl aligns both `get` tables and
//! `describe` text with it, so we do too.
//!
//! Input is text whose cells end with `\t`. The text after a line's last tab is not a cell and is
//! never padded. A column block is a run of consecutive lines that all have a cell in that column;
//! every cell of the block is padded to the block's widest cell plus `padding` (at least
//! `min_width`). A line with fewer cells ends the block, which is why a heading such as
//! `Containers:` restarts the alignment of the lines below it.

/// Alignment settings; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TabWriter {
    /// Smallest width of a column, padding included.
    pub min_width: usize,
    /// Spaces added after the widest cell of a column.
    pub padding: usize,
}

/// `kubectl get`: `tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)`.
pub(crate) const TABLE: TabWriter = TabWriter {
    min_width: 6,
    padding: 3,
};

/// `kubectl describe`: `tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)`.
pub(crate) const DESCRIBE: TabWriter = TabWriter {
    min_width: 0,
    padding: 2,
};

impl TabWriter {
    /// Aligns `text`. Every output line ends with `\n` and has no trailing spaces.
    pub fn align(self, text: &str) -> String {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.is_empty() {
            return String::new();
        }
        let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
        let mut out = String::with_capacity(text.len() * 2);
        self.format(&lines, &mut Vec::new(), 0, lines.len(), &mut out);
        out
    }

    /// Go's `Writer.format`: aligns column `widths.len()` in `lines[line0..line1]`, recursing
    /// into each block for the next column.
    fn format(
        self,
        lines: &[Vec<&str>],
        widths: &mut Vec<usize>,
        line0: usize,
        line1: usize,
        out: &mut String,
    ) {
        let column = widths.len();
        let has_cell = |line: &Vec<&str>| column + 1 < line.len();
        let mut written = line0;
        let mut this = line0;
        while this < line1 {
            if !has_cell(&lines[this]) {
                this += 1;
                continue;
            }
            write_lines(&lines[written..this], widths, out);
            let start = this;
            let mut width = self.min_width;
            while this < line1 && has_cell(&lines[this]) {
                width = width.max(text_width(lines[this][column]) + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(lines, widths, start, this, out);
            widths.pop();
            written = this;
        }
        write_lines(&lines[written..line1], widths, out);
    }
}

/// Writes lines, padding each cell that has a width; trims trailing spaces.
fn write_lines(lines: &[Vec<&str>], widths: &[usize], out: &mut String) {
    for line in lines {
        let start = out.len();
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(&width) = widths.get(j) {
                let pad = width.saturating_sub(text_width(cell));
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let trimmed = out[start..].trim_end_matches(' ').len();
        out.truncate(start + trimmed);
        out.push('\n');
    }
}

/// Width in characters, as Go counts runes.
fn text_width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_the_widest_cell_plus_three() {
        let got = TABLE.align("NAME\tREADY\tSTATUS\nweb-12345\t1/1\tRunning\n");
        assert_eq!(
            got,
            "NAME        READY   STATUS\n\
             web-12345   1/1     Running\n"
        );
    }

    #[test]
    fn narrow_columns_get_the_minimum_width() {
        assert_eq!(TABLE.align("A\tB\nx\ty\n"), "A     B\nx     y\n");
    }

    #[test]
    fn a_line_without_tabs_ends_a_block() {
        let got = DESCRIBE
            .align("Name:\tweb\nNamespace:\tdefault\nContainers:\n  app:\n    Image:\tnginx\n");
        assert_eq!(
            got,
            "Name:       web\n\
             Namespace:  default\n\
             Containers:\n  \
               app:\n    \
                 Image:  nginx\n"
        );
    }

    #[test]
    fn continuation_lines_align_with_an_empty_first_cell() {
        let got = DESCRIBE.align("Labels:\tapp=web\n\ttier=front\nStatus:\tRunning\n");
        assert_eq!(
            got,
            "Labels:  app=web\n         tier=front\nStatus:  Running\n"
        );
    }

    #[test]
    fn inner_columns_align_only_within_their_block() {
        // The second column spans lines 1-2 only: line 3 has a single cell.
        let got = DESCRIBE.align("a\tbb\tc\na\tb\tc\naaaa\tc\n");
        assert_eq!(got, "a     bb  c\na     b   c\naaaa  c\n");
    }

    #[test]
    fn trailing_spaces_are_trimmed_and_empty_text_stays_empty() {
        assert_eq!(DESCRIBE.align("Type \tStatus \n"), "Type   Status\n");
        assert_eq!(DESCRIBE.align(""), "");
    }
}
