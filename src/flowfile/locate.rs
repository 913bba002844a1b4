//! Finding places in a flow file's text that the typed tree does not carry: the column of a
//! byte inside a string value, a key without a span (`exact:`, `count:`), the key a value or a
//! field belongs to (for parse errors, which only know a position).
//!
//! Columns are 1-based and count characters, as serde-saphyr's do.

use super::span::Loc;

/// A flow file's text, split into lines.
pub struct SourceText<'a> {
    lines: Vec<&'a str>,
}

impl<'a> SourceText<'a> {
    pub fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        SourceText {
            lines: text
                .split('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l))
                .collect(),
        }
    }

    /// Number of lines.
    pub fn line_count(&self) -> u32 {
        u32::try_from(self.lines.len()).unwrap_or(u32::MAX)
    }

    /// 1-based line `n`.
    pub fn line(&self, n: u32) -> Option<&'a str> {
        if n == 0 {
            return None;
        }
        self.lines.get(n as usize - 1).copied()
    }

    /// The text of `loc`'s line from `loc` on.
    pub fn rest_at(&self, loc: Loc) -> Option<&'a str> {
        let line = self.line(loc.line)?;
        let skip = loc.col.max(1) as usize - 1;
        let byte = line.char_indices().nth(skip).map_or(line.len(), |(b, _)| b);
        Some(&line[byte..])
    }

    /// The text of `loc`'s line before `loc`.
    fn before(&self, loc: Loc) -> Option<&'a str> {
        let line = self.line(loc.line)?;
        let skip = loc.col.max(1) as usize - 1;
        let byte = line.char_indices().nth(skip).map_or(line.len(), |(b, _)| b);
        Some(&line[..byte])
    }

    /// Where byte `offset` of the string `value` (which starts at `loc`) is in the file.
    ///
    /// Exact for a plain or quoted scalar written on one line without escapes; for block
    /// scalars and the like, found by searching the following lines for the text of the
    /// value's line; else `loc` itself.
    pub fn loc_in_value(&self, loc: Loc, value: &str, offset: usize) -> Loc {
        let lines = u32::try_from(value.matches('\n').count()).unwrap_or(0) + 3;
        self.loc_in_value_within(loc, value, offset, loc.line.saturating_add(lines))
    }

    /// [`Self::loc_in_value`], searching no further than `last_line`.
    pub fn loc_in_value_within(&self, loc: Loc, value: &str, offset: usize, last_line: u32) -> Loc {
        let offset = floor_char_boundary(value, offset);
        if let Some(rest) = self.rest_at(loc) {
            let inline = |start: usize, rest: &str| -> Option<Loc> {
                if !rest.get(start..)?.starts_with(value) {
                    return None;
                }
                let col = loc.col + count(&rest[..start]) + count(&value[..offset]);
                Some(Loc {
                    line: loc.line,
                    col,
                })
            };
            let first = rest.chars().next();
            let quoted = match first {
                Some(q @ ('"' | '\'')) => {
                    let tail = &rest[1..];
                    let escape_free = if q == '"' {
                        !value.contains(['\\', '"'])
                    } else {
                        !value.contains('\'')
                    };
                    if escape_free && tail.starts_with(value) && tail[value.len()..].starts_with(q)
                    {
                        inline(1, rest)
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some(l) = quoted.or_else(|| {
                if value.contains('\n') {
                    None
                } else {
                    inline(0, rest)
                }
            }) {
                return l;
            }
        }
        // Search the following lines for the value's line of text around `offset`, then (for
        // folded or escaped values, whose text differs from the source) for the `{{ … }}`
        // around it alone.
        let line_start = value[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = value[offset..]
            .find('\n')
            .map_or(value.len(), |i| offset + i);
        let mut fragments = vec![(line_start, line_end)];
        if let (Some(open), Some(close)) = (value[..offset].rfind("{{"), value[offset..].find("}}"))
        {
            fragments.push((open, offset + close + 2));
        }
        for (start, end) in fragments {
            let raw = &value[start..end];
            let lead = raw.len() - raw.trim_start().len();
            let fragment = raw.trim();
            if fragment.is_empty()
                || offset < start + lead
                || offset > start + lead + fragment.len()
            {
                continue;
            }
            let in_fragment = offset - start - lead;
            if let Some(found) = self.find(loc, last_line.min(self.line_count()), fragment) {
                return Loc {
                    line: found.line,
                    col: found.col + count(&fragment[..in_fragment]),
                };
            }
        }
        loc
    }

    /// The first place in lines `from..=to` where `needle` occurs (from `start_col` on the first
    /// line).
    pub fn find(&self, start: Loc, to_line: u32, needle: &str) -> Option<Loc> {
        if needle.is_empty() {
            return None;
        }
        for n in start.line..=to_line.min(self.line_count()) {
            let line = self.line(n)?;
            let from = if n == start.line {
                self.before(start).map_or(0, str::len)
            } else {
                0
            };
            if let Some(i) = line[from..].find(needle) {
                return Some(Loc {
                    line: n,
                    col: 1 + count(&line[..from + i]),
                });
            }
        }
        None
    }

    /// The first `key:` (as a whole word followed by a colon) in lines `from..=to`.
    pub fn find_key(&self, start: Loc, to_line: u32, key: &str) -> Option<Loc> {
        // An empty key (`'': x`, a header or pointer named by nothing) matches everywhere and
        // would never move the search on: callers fall back to the step.
        if key.is_empty() {
            return None;
        }
        for n in start.line..=to_line.min(self.line_count()) {
            let line = self.line(n)?;
            let from = if n == start.line {
                self.before(start).map_or(0, str::len)
            } else {
                0
            };
            let mut search = from;
            while let Some(i) = line[search..].find(key) {
                let at = search + i;
                let before_ok =
                    at == 0 || line[..at].ends_with([' ', '{', ',', '-', '\t', '"', '\'']);
                let after = line[at + key.len()..]
                    .trim_start_matches(['"', '\''])
                    .trim_start();
                if before_ok && after.starts_with(':') {
                    let col = 1 + count(&line[..at]);
                    // Point at the opening quote of a quoted key.
                    let col = if at > 0 && line[..at].ends_with(['"', '\'']) {
                        col - 1
                    } else {
                        col
                    };
                    return Some(Loc { line: n, col });
                }
                search = at + key.len();
            }
        }
        None
    }

    /// The key whose value starts at `loc` (`steps` for the `foo` in `steps: foo`), or, for an
    /// item of a sequence or a key inside a mapping, the key of that collection.
    pub fn key_of_value(&self, loc: Loc) -> Option<String> {
        let before = self.before(loc)?;
        let trimmed = before.trim_end();
        if let Some(stripped) = trimmed.strip_suffix(':') {
            return last_word(stripped);
        }
        self.enclosing_key(loc)
    }

    /// The key of the mapping (or sequence) that contains the node at `loc`: `click` for the
    /// `rol` in `- click: { rol: x }`. `None` at the top level.
    pub fn enclosing_key(&self, loc: Loc) -> Option<String> {
        self.enclosing_key_at(loc).map(|(k, _)| k)
    }

    /// [`Self::enclosing_key`] and where that key is written.
    pub fn enclosing_key_at(&self, loc: Loc) -> Option<(String, Loc)> {
        let before = self.before(loc)?;
        // Flow style: the nearest unmatched `{` or `[` on this line.
        let mut depth = 0i32;
        for (i, c) in before.char_indices().rev() {
            match c {
                '}' | ']' => depth += 1,
                '{' | '[' if depth > 0 => depth -= 1,
                '{' | '[' => {
                    let head = before[..i].trim_end();
                    if let Some(stripped) = head.strip_suffix(':') {
                        return key_at(stripped, loc.line);
                    }
                    // `- { … }` or `[ { … } ]`: the key of the enclosing block.
                    let indent = leading_indent(before);
                    return self.block_parent(loc.line, indent);
                }
                _ => {}
            }
        }
        // Block style: the nearest line above that is indented less than this node.
        let indent = count(before);
        let indent = if before.trim().is_empty() || before.trim_start().starts_with('-') {
            // `- key: …`: the item's own key: the parent is above the dash.
            leading_indent(before).min(indent)
        } else {
            indent
        };
        self.block_parent(loc.line, indent)
    }

    fn block_parent(&self, line: u32, indent: u32) -> Option<(String, Loc)> {
        let mut n = line;
        while n > 1 {
            n -= 1;
            let text = self.line(n)?;
            let content = text.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let lead = count(&text[..text.len() - content.len()]);
            if lead < indent {
                let no_comment = strip_comment(text).trim_end();
                if let Some(stripped) = no_comment.strip_suffix(':') {
                    return key_at(stripped, n);
                }
                // `- click: { … }` on one line contains this one only in flow style.
                let colon = text.find(':')?;
                return key_at(&text[..colon], n);
            }
        }
        None
    }
}

/// The key that ends `head` (a line up to its colon) and its location on line `line`.
fn key_at(head: &str, line: u32) -> Option<(String, Loc)> {
    let key = last_word(head)?;
    let trimmed = head.trim_end().trim_end_matches(['"', '\'']);
    let start = trimmed.len() - key.len();
    Some((
        key,
        Loc {
            line,
            col: 1 + count(&head[..start]),
        },
    ))
}

fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev_space => return &line[..i],
            None => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn last_word(s: &str) -> Option<String> {
    let s = s.trim_end().trim_end_matches(['"', '\'']);
    let word: String = s
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '/')
        .collect();
    let word: String = word.chars().rev().collect();
    (!word.is_empty()).then_some(word)
}

fn leading_indent(s: &str) -> u32 {
    count(&s[..s.len() - s.trim_start().len()])
}

fn count(s: &str) -> u32 {
    u32::try_from(s.chars().count()).unwrap_or(u32::MAX)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: u32, col: u32) -> Loc {
        Loc { line, col }
    }

    #[test]
    fn columns_inside_values() {
        let src =
            SourceText::new("a: x {{ y }}\nb: \"q {{ z }}\"\nc: 'é {{ w }}'\nd: \"e\\t{{ v }}\"\n");
        assert_eq!(src.loc_in_value(loc(1, 4), "x {{ y }}", 5), loc(1, 9));
        assert_eq!(src.loc_in_value(loc(2, 4), "q {{ z }}", 5), loc(2, 10));
        assert_eq!(src.loc_in_value(loc(3, 4), "é {{ w }}", 6), loc(3, 10));
        // An escape in a double-quoted string: the text differs, so the `{{ v }}` is searched.
        assert_eq!(src.loc_in_value(loc(4, 4), "e\t{{ v }}", 5), loc(4, 11));
    }

    #[test]
    fn columns_in_block_scalars() {
        let src = SourceText::new("v: |\n  hello\n  {{ x }} there\nw: 1\n");
        let value = "hello\n{{ x }} there\n";
        assert_eq!(src.loc_in_value(loc(2, 3), value, 9), loc(3, 6));
    }

    #[test]
    fn columns_in_folded_and_escaped_values() {
        let src = SourceText::new("v: >-\n  folded {{ x }}\n  text\nw: \"a\\tb {{ y }}\"\n");
        assert_eq!(
            src.loc_in_value(loc(2, 3), "folded {{ x }} text", 10),
            loc(2, 13)
        );
        assert_eq!(src.loc_in_value(loc(4, 4), "a\tb {{ y }}", 7), loc(4, 13));
    }

    #[test]
    fn finds_keys() {
        let src = SourceText::new(
            "steps:\n  - click: { css: a, exact: true }\n  - expect:\n      count: 2\n",
        );
        assert_eq!(src.find_key(loc(2, 1), 2, "exact"), Some(loc(2, 22)));
        assert_eq!(src.find_key(loc(3, 1), 4, "count"), Some(loc(4, 7)));
        assert_eq!(src.find_key(loc(1, 1), 4, "coun"), None);
        // An empty key is found nowhere (it matched everywhere and the search never ended).
        let src = SourceText::new("steps:\n  - http: { url: /a, headers: { '': x } }\n");
        assert_eq!(src.find_key(loc(2, 1), 2, ""), None);
    }

    #[test]
    fn keys_around_positions() {
        let src = SourceText::new(
            "id: a\nsteps:\n  - click: { rol: x, within: { rol: y } }\n  - fill:\n      label: x\n      valu: y\n  - click: x\n",
        );
        assert_eq!(src.enclosing_key(loc(3, 14)), Some("click".into()));
        assert_eq!(src.enclosing_key(loc(3, 34)), Some("within".into()));
        assert_eq!(src.enclosing_key(loc(6, 7)), Some("fill".into()));
        assert_eq!(src.enclosing_key(loc(1, 1)), None);
        assert_eq!(src.enclosing_key(loc(4, 5)), Some("steps".into()));
        assert_eq!(
            src.enclosing_key_at(loc(3, 34)),
            Some(("within".into(), loc(3, 22)))
        );
        assert_eq!(
            src.enclosing_key_at(loc(6, 7)),
            Some(("fill".into(), loc(4, 5)))
        );
        assert_eq!(src.key_of_value(loc(7, 12)), Some("click".into()));
        assert_eq!(src.key_of_value(loc(1, 5)), Some("id".into()));
    }
}
