//! Just enough of Rust's lexer for build.rs to find `PMPI_` signatures.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    Lifetime,
    Literal,
    Punct,
}

#[derive(Debug)]
pub struct Tok {
    pub kind: Kind,
    pub text: String,
}

impl Tok {
    pub fn is_ident(&self, s: &str) -> bool {
        self.kind == Kind::Ident && self.text == s
    }
    pub fn is_punct(&self, s: &str) -> bool {
        self.kind == Kind::Punct && self.text == s
    }
}

/// Just enough of Rust's lexer: comments (nested block comments too) dropped, string/char/number
/// literals kept whole so their contents are never mistaken for code, `->` and `::` kept as one token.
pub fn lex(src: &str) -> Vec<Tok> {
    let b: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let push = |toks: &mut Vec<Tok>, kind, s: &[char]| toks.push(Tok { kind, text: s.iter().collect() });
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&b, i) {
            push(&mut toks, Kind::Literal, &b[i..end]);
            i = end;
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            let start = i;
            i += if c == 'b' { 2 } else { 1 };
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            push(&mut toks, Kind::Literal, &b[start..i]);
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a, 'static).
            let start = i;
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
                push(&mut toks, Kind::Literal, &b[start..i]);
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                push(&mut toks, Kind::Literal, &b[start..i]);
            } else {
                i += 1;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
                push(&mut toks, Kind::Lifetime, &b[start..i]);
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            if c == 'r' && next == Some('#') {
                i += 2;
            }
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let kind = if c.is_ascii_digit() { Kind::Literal } else { Kind::Ident };
            push(&mut toks, kind, &b[start..i]);
        } else if (c == '-' && next == Some('>')) || (c == ':' && next == Some(':')) {
            push(&mut toks, Kind::Punct, &b[i..i + 2]);
            i += 2;
        } else {
            push(&mut toks, Kind::Punct, &b[i..i + 1]);
            i += 1;
        }
    }
    toks
}

/// End (exclusive) of a raw string literal `r"..."`, `r#"..."#`, `br"..."` starting at `i`, if one does.
fn raw_string_end(b: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&'b') {
        j += 1;
    }
    if b.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    if b.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < b.len() {
        if b[j] == '"' && b[j + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(b.len())
}
