//! Where each key of the file is, as the TOML parser saw it.
//!
//! A second pass of the deserializer reads the text into a tree that keeps, for every key,
//! the byte offset the parser found it at ([`toml::Spanned`]), and for every element of an
//! array (a `[[port]]` table, say) the offset of that element. A semantic error then asks for
//! a path such as `port` / 1 / `dscp` and gets that key in that very table, however it was
//! written (quoted, dotted, in an inline table, under `[[ port ]]`), never another occurrence
//! of the same name elsewhere in the text.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// One step of a path into the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step<'a> {
    /// A key of a table.
    Key(&'a str),
    /// An element of an array.
    Index(usize),
}

/// The positions of a document's keys and array elements.
#[derive(Debug)]
pub(super) struct Positions<'t> {
    text: &'t str,
    root: Node,
}

impl<'t> Positions<'t> {
    /// Reads `text`; `None` if it does not parse (then only the positions are lost).
    ///
    /// A text [`Config`](super::Config) accepted always parses: the one thing the tree cannot
    /// hold is a datetime (its private key has no position), and no key of the file takes one.
    pub(super) fn parse(text: &'t str) -> Option<Positions<'t>> {
        let root = toml::from_str(text).ok()?;
        Some(Positions { text, root })
    }

    /// The byte offset of what `path` names: a key's first character, or an array element's
    /// (for a `[[port]]` table, its header's).
    pub(super) fn offset(&self, path: &[Step<'_>]) -> Option<usize> {
        let mut node = &self.root;
        let mut offset = None;
        for step in path {
            let (at, next) = match (node, step) {
                (Node::Table(keys), Step::Key(k)) => keys.get(*k)?,
                (Node::Array(items), Step::Index(i)) => items.get(*i)?,
                _ => return None,
            };
            offset = Some(*at);
            node = next;
        }
        offset
    }

    /// The 1-based line of what `path` names.
    pub(super) fn line(&self, path: &[Step<'_>]) -> Option<usize> {
        self.offset(path).map(|at| line_of(self.text, at))
    }
}

/// The 1-based line of byte `offset` of `text`.
/// The key (`clock.priority1`, `port[0].dscp`, `port[1].unicast-limits.max-slaves`) whose
/// `key = value` line holds `offset`, read from the text alone (for errors of the TOML
/// parser, which knows only the position); empty when the offset is on no such line.
pub(super) fn key_at(text: &str, offset: usize) -> String {
    let mut section = String::new();
    let mut arrays: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            let name = name.0.trim().to_string();
            let n = arrays
                .entry(name.clone())
                .and_modify(|n| *n += 1)
                .or_insert(0);
            section = format!("{name}[{n}]");
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split_once(']')) {
            let name = name.0.trim();
            // A sub-table of the last array element ([port.unicast-limits]).
            section = match name.split_once('.') {
                Some((head, tail)) if arrays.contains_key(head) => {
                    format!("{head}[{}].{tail}", arrays[head])
                }
                _ => name.to_string(),
            };
        } else if (start..end).contains(&offset) {
            let Some((key, _)) = line.split_once('=') else {
                return String::new();
            };
            let key = key.trim().trim_matches('"');
            return if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            };
        }
        if (start..end).contains(&offset) {
            return String::new();
        }
        start = end;
    }
    String::new()
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.bytes().take(offset).filter(|&b| b == b'\n').count() + 1
}

/// A value of the document, reduced to where the keys and elements below it are.
#[derive(Debug)]
enum Node {
    /// A string, number or boolean.
    Leaf,
    /// A table: each key's offset and value.
    Table(BTreeMap<String, (usize, Node)>),
    /// An array: each element's offset and value.
    Array(Vec<(usize, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut keys = BTreeMap::new();
        // Only keys carry their position: an implicit table (`a` of `[a.b]` or of
        // `a.b = 1`) has none, so the values are read without one.
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let at = key.span().start;
            keys.insert(key.into_inner(), (at, map.next_value()?));
        }
        Ok(Node::Table(keys))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push((item.span().start, item.into_inner()));
        }
        Ok(Node::Array(items))
    }
}

#[cfg(test)]
mod tests {
    use super::key_at;

    #[test]
    fn keys_are_named_from_the_text() {
        let t = "top = 1\n[clock]\npriority1 = 300\n[[port]]\ndscp = 1\n[[port]]\n\
                 dscp = 99\n[port.unicast-limits]\nmax-slaves = -1\n";
        let at = |needle: &str| key_at(t, t.find(needle).unwrap());
        assert_eq!(at("1\n["), "top");
        assert_eq!(at("300"), "clock.priority1");
        assert_eq!(at("99"), "port[1].dscp");
        assert_eq!(at("-1"), "port[1].unicast-limits.max-slaves");
        assert_eq!(at("[clock]"), "");
    }

    use super::*;

    fn line(text: &str, path: &[Step<'_>]) -> Option<usize> {
        Positions::parse(text).and_then(|p| p.line(path))
    }

    #[test]
    fn keys_and_elements_in_every_form() {
        use Step::{Index, Key};
        let text = "# comment\n\
                    [clock]\n\
                    priority1 = 1\n\
                    quality = { class = 6, accuracy = 0x21 }\n\
                    \n\
                    [[port]]\n\
                    interface = \"a\"\n\
                    [port.unicast-limits]\n\
                    min-duration = 5\n\
                    \n\
                    [[ port ]] # spaced\n\
                    \"interface\" = \"b\"\n\
                    unicast-limits.max-slaves = 3\n\
                    [dataplane]\n\
                    eal-args = [\n  \"--no-huge\",\n  \"-m\",\n]\n";
        let p = Positions::parse(text).unwrap();
        let port = |i| [Key("port"), Index(i)];
        let limits = |i, k| [Key("port"), Index(i), Key("unicast-limits"), Key(k)];
        assert_eq!(p.line(&[Key("clock"), Key("priority1")]), Some(3));
        assert_eq!(
            p.line(&[Key("clock"), Key("quality"), Key("class")]),
            Some(4)
        );
        assert_eq!(p.line(&port(0)), Some(6));
        assert_eq!(
            p.line(&[Key("port"), Index(0), Key("unicast-limits")]),
            Some(8)
        );
        assert_eq!(p.line(&limits(0, "min-duration")), Some(9));
        assert_eq!(p.line(&port(1)), Some(11));
        assert_eq!(p.line(&[Key("port"), Index(1), Key("interface")]), Some(12));
        assert_eq!(p.line(&limits(1, "max-slaves")), Some(13));
        assert_eq!(
            p.line(&[Key("dataplane"), Key("eal-args"), Index(1)]),
            Some(17)
        );
        // What is not there has no line.
        assert_eq!(p.line(&[Key("port"), Index(2)]), None);
        assert_eq!(p.line(&[Key("clock"), Key("domain")]), None);
        assert_eq!(p.line(&[Key("clock"), Index(0)]), None);
        assert_eq!(p.line(&[]), None);
    }

    #[test]
    fn text_that_is_not_toml_has_no_positions() {
        assert!(Positions::parse("[clock\n").is_none());
        assert_eq!(line("a = 1\n", &[Step::Key("b")]), None);
        assert_eq!(line("\n\na = 1\n", &[Step::Key("a")]), Some(3));
    }
}
