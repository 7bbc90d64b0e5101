//! Variables in what is sent: `{counter}`, `{time}` and `{time:FORMAT}`, `{unix_ms}`,
//! `{rand:N}`, `{len}`, and `{name}` of a value captured from an earlier reply. `{{` is a
//! literal `{`.
//!
//! Only `{identifier}` or `{identifier:args}` is a variable; every other brace stays as typed,
//! so a JSON payload goes out unchanged. Pure: the clock, the counter's value, the random
//! bytes and the captures come from the caller in a [`Context`].

use std::collections::HashMap;
use std::ops::Range;

use chrono::NaiveDateTime;
use chrono::format::{Item, StrftimeItems};

/// A template, read: literal text and variables, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text {
        text: String,
        span: Range<usize>,
    },
    Var {
        name: String,
        args: Option<String>,
        /// Where it stands in the template (bytes), to mark it.
        span: Range<usize>,
    },
}

/// Reads a template. Never fails: what is not a variable is text.
pub fn parse(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut text_from = 0;
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < template.len() {
        if text.is_empty() {
            text_from = i;
        }
        if template[i..].starts_with("{{") {
            text.push('{');
            i += 2;
            continue;
        }
        if bytes[i] == b'{'
            && let Some((name, args, end)) = variable_at(template, i)
        {
            if !text.is_empty() {
                pieces.push(Piece::Text {
                    text: std::mem::take(&mut text),
                    span: text_from..i,
                });
            }
            pieces.push(Piece::Var {
                name,
                args,
                span: i..end,
            });
            i = end;
            continue;
        }
        let c = template[i..].chars().next().unwrap_or('\0');
        text.push(c);
        i += c.len_utf8().max(1);
    }
    if !text.is_empty() {
        pieces.push(Piece::Text {
            text,
            span: text_from..template.len(),
        });
    }
    pieces
}

/// `{identifier}` or `{identifier:args}` at byte `at`: (name, args, end).
fn variable_at(template: &str, at: usize) -> Option<(String, Option<String>, usize)> {
    let rest = &template[at + 1..];
    let name_len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    let name = &rest[..name_len];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let after = &rest[name_len..];
    if after.starts_with('}') {
        return Some((name.to_owned(), None, at + 1 + name_len + 1));
    }
    let args = after.strip_prefix(':')?;
    let close = args.find(['}', '{'])?;
    if !args[close..].starts_with('}') {
        return None;
    }
    Some((
        name.to_owned(),
        Some(args[..close].to_owned()),
        at + 1 + name_len + 1 + close + 1,
    ))
}

/// How a payload's counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CounterSpec {
    pub start: u64,
    pub step: u64,
    /// Digits, zero-padded (0: as many as it takes).
    pub width: u8,
    pub hex: bool,
}

impl Default for CounterSpec {
    fn default() -> Self {
        Self {
            start: 1,
            step: 1,
            width: 0,
            hex: false,
        }
    }
}

impl CounterSpec {
    /// The counter's value at the `n`th send (0-based).
    pub fn value(&self, n: u64) -> u64 {
        self.start.wrapping_add(self.step.wrapping_mul(n))
    }
}

/// What a template is expanded with.
pub struct Context<'a> {
    /// The counter's value for this send, and how it is written by default.
    pub counter: u64,
    pub counter_spec: CounterSpec,
    /// The local time now.
    pub now: NaiveDateTime,
    pub unix_ms: u64,
    /// Fills a buffer with random bytes.
    pub random: &'a mut dyn FnMut(&mut [u8]),
    /// Values captured from earlier replies, by name.
    pub captures: &'a HashMap<String, Vec<u8>>,
}

/// Why a template could not be expanded; nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarError {
    /// The variable (or literal text) at fault, in the template.
    pub span: Range<usize>,
    pub kind: VarErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarErrorKind {
    /// No variable of that name (nor a captured value).
    Unknown(String),
    /// The variable's arguments do not make sense.
    BadArgs { name: String, why: String },
    /// The literal text between the variables could not be turned into bytes (a character
    /// the encoding lacks, bad hex).
    Literal(String),
}

/// Most random bytes one `{rand:N}` gives.
pub const MAX_RAND: usize = 4096;

/// A field of fixed binary width, as `u8`, `u16be`, `u16le`, `u32be`, `u32le`.
fn binary_width(args: &str) -> Option<(usize, bool)> {
    match args {
        "u8" => Some((1, true)),
        "u16" | "u16be" => Some((2, true)),
        "u16le" => Some((2, false)),
        "u32" | "u32be" => Some((4, true)),
        "u32le" => Some((4, false)),
        _ => None,
    }
}

fn binary(value: u64, (width, big): (usize, bool)) -> Vec<u8> {
    let be = value.to_be_bytes();
    let mut out = be[8 - width..].to_vec();
    if !big {
        out.reverse();
    }
    out
}

/// A number as text: `width` digits, zero-padded (0: as many as it takes), in hex or not.
fn digits(value: u64, width: usize, hex: bool) -> Vec<u8> {
    if hex {
        format!("{value:0width$X}").into_bytes()
    } else {
        format!("{value:0width$}").into_bytes()
    }
}

/// How a `{len}` is written: decimal digits (0: as many as it takes), or binary.
#[derive(Clone, Copy)]
enum LenForm {
    Digits(usize),
    Binary(usize, bool),
}

impl LenForm {
    fn bytes(self, total: u64) -> Vec<u8> {
        match self {
            LenForm::Digits(w) => digits(total, w, false),
            LenForm::Binary(w, big) => binary(total, (w, big)),
        }
    }
}

/// A source of random bytes for `{rand:N}`, kept by whoever sends.
pub type Random = Box<dyn FnMut(&mut [u8]) + Send>;

/// Random bytes for `{rand:N}`: xorshift64*, seeded from the clock and the process (test
/// data, not secrets).
pub fn weak_random() -> impl FnMut(&mut [u8]) {
    let mut state = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()).rotate_left(32)
        | 1;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            *b = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
}

/// Expands a template into the bytes to send. `literal` turns the text between variables
/// into bytes (encoding it, or reading it as hex).
pub fn expand(
    pieces: &[Piece],
    literal: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
    ctx: &mut Context<'_>,
) -> Result<Vec<u8>, VarError> {
    enum Part {
        Bytes(Vec<u8>),
        Len(LenForm),
    }
    let mut parts = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text { text, span } => {
                let bytes = literal(text).map_err(|why| VarError {
                    span: span.clone(),
                    kind: VarErrorKind::Literal(why),
                })?;
                parts.push(Part::Bytes(bytes));
            }
            Piece::Var { name, args, span } => {
                let bad = |why: &str| VarError {
                    span: span.clone(),
                    kind: VarErrorKind::BadArgs {
                        name: name.clone(),
                        why: why.to_owned(),
                    },
                };
                let args = args.as_deref();
                let part = match name.as_str() {
                    "counter" => {
                        let value = ctx.counter;
                        match args {
                            None => Part::Bytes(digits(
                                value,
                                usize::from(ctx.counter_spec.width),
                                ctx.counter_spec.hex,
                            )),
                            Some(a) => {
                                if let Some(w) = binary_width(a) {
                                    Part::Bytes(binary(value, w))
                                } else {
                                    let (w, hex) = match a.strip_suffix(['x', 'X']) {
                                        Some(w) => (w, true),
                                        None => (a.strip_suffix('d').unwrap_or(a), false),
                                    };
                                    let w = if w.is_empty() {
                                        0
                                    } else {
                                        w.parse::<usize>()
                                            .ok()
                                            .filter(|w| *w <= 20)
                                            .ok_or_else(|| bad("width 0–20, then x for hex"))?
                                    };
                                    Part::Bytes(digits(value, w, hex))
                                }
                            }
                        }
                    }
                    "time" => {
                        let format = args.unwrap_or("%H:%M:%S");
                        let items: Vec<Item> = StrftimeItems::new(format).collect();
                        if items.iter().any(|i| matches!(i, Item::Error)) {
                            return Err(bad("a strftime format such as %Y-%m-%d %H:%M:%S"));
                        }
                        Part::Bytes(
                            ctx.now
                                .format_with_items(items.into_iter())
                                .to_string()
                                .into_bytes(),
                        )
                    }
                    "unix_ms" => {
                        if args.is_some() {
                            return Err(bad("no arguments"));
                        }
                        Part::Bytes(ctx.unix_ms.to_string().into_bytes())
                    }
                    "rand" => {
                        let n = match args {
                            None => 1,
                            Some(a) => a
                                .parse::<usize>()
                                .ok()
                                .filter(|n| (1..=MAX_RAND).contains(n))
                                .ok_or_else(|| bad("a number of bytes, 1–4096"))?,
                        };
                        let mut buf = vec![0u8; n];
                        (ctx.random)(&mut buf);
                        Part::Bytes(buf)
                    }
                    "len" => Part::Len(match args {
                        None => LenForm::Digits(0),
                        Some(a) => match binary_width(a) {
                            Some((w, big)) => LenForm::Binary(w, big),
                            None => LenForm::Digits(
                                a.parse::<usize>()
                                    .ok()
                                    .filter(|w| (1..=10).contains(w))
                                    .ok_or_else(|| {
                                        bad("digits 1–10, or u8, u16be, u16le, u32be, u32le")
                                    })?,
                            ),
                        },
                    }),
                    other => match ctx.captures.get(other) {
                        Some(value) if args.is_none() => Part::Bytes(value.clone()),
                        _ => {
                            return Err(VarError {
                                span: span.clone(),
                                kind: VarErrorKind::Unknown(other.to_owned()),
                            });
                        }
                    },
                };
                parts.push(part);
            }
        }
    }
    // `{len}` is the length of the final payload, its own digits included: find the length
    // that agrees with itself (a few rounds at most, as digits grow by one at a time).
    let fixed: usize = parts
        .iter()
        .map(|p| match p {
            Part::Bytes(b) => b.len(),
            Part::Len(_) => 0,
        })
        .sum();
    let forms: Vec<LenForm> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Len(f) => Some(*f),
            Part::Bytes(_) => None,
        })
        .collect();
    let mut total = fixed as u64;
    for _ in 0..24 {
        let next = fixed as u64
            + forms
                .iter()
                .map(|f| f.bytes(total).len() as u64)
                .sum::<u64>();
        if next == total {
            break;
        }
        total = next;
    }
    let mut out = Vec::with_capacity(total as usize);
    for part in parts {
        match part {
            Part::Bytes(b) => out.extend(b),
            Part::Len(f) => out.extend(f.bytes(total)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(template: &str) -> Result<Vec<u8>, VarError> {
        let captures: HashMap<String, Vec<u8>> = [("token".to_owned(), b"ab12".to_vec())]
            .into_iter()
            .collect();
        let mut next = 0u8;
        let mut random = |buf: &mut [u8]| {
            for b in buf {
                next = next.wrapping_add(1);
                *b = next;
            }
        };
        let mut ctx = Context {
            counter: 7,
            counter_spec: CounterSpec {
                width: 3,
                ..CounterSpec::default()
            },
            now: chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
                .and_then(|d| d.and_hms_opt(9, 5, 30))
                .unwrap(),
            unix_ms: 1_780_000_000_123,
            random: &mut random,
            captures: &captures,
        };
        expand(
            &parse(template),
            &mut |t: &str| Ok(t.as_bytes().to_vec()),
            &mut ctx,
        )
    }

    fn text(template: &str) -> String {
        String::from_utf8(run(template).unwrap()).unwrap()
    }

    #[test]
    fn each_variable() {
        assert_eq!(text("n={counter}"), "n=007");
        assert_eq!(text("{counter:5}|{counter:x}|{counter:4X}"), "00007|7|0007");
        assert_eq!(run("{counter:u16be}{counter:u16le}").unwrap(), [0, 7, 7, 0]);
        assert_eq!(text("{time}"), "09:05:30");
        assert_eq!(text("{time:%Y-%m-%d}"), "2026-12-03");
        assert_eq!(text("{unix_ms}"), "1780000000123");
        assert_eq!(run("{rand:3}").unwrap(), [1, 2, 3]);
        assert_eq!(text("id={token}"), "id=ab12");
        assert_eq!(text("{{counter}"), "{counter}");
    }

    #[test]
    fn len_counts_the_final_payload_and_itself() {
        // 7 bytes around it plus its own digit.
        assert_eq!(text("LEN={len};OK"), "LEN=8;OK");
        assert_eq!(text("{len:4}abc"), "0007abc");
        assert_eq!(run("{len:u8}abc").unwrap(), [4, b'a', b'b', b'c']);
        assert_eq!(run("{len:u16le}ab").unwrap(), [4, 0, b'a', b'b']);
        // Where the digits themselves push the length past a power of ten: 98 + "101".
        let body = "x".repeat(98);
        let out = text(&format!("{body}{{len}}"));
        assert_eq!(out.len(), 101);
        assert!(out.ends_with("101"), "{out}");
    }

    #[test]
    fn braces_that_are_not_variables_stay() {
        let json = r#"{"n": 1, "list": [{ }], "a":{"b":2}}"#;
        assert_eq!(text(json), json);
        assert_eq!(text("{} {1} {a b} {x:{}} }{"), "{} {1} {a b} {x:{}} }{");
        assert_eq!(text("你好{counter}"), "你好007");
    }

    #[test]
    fn bad_input_is_marked_where_it_stands() {
        let e = run("ab {nope} cd").unwrap_err();
        assert_eq!(e.span, 3..9);
        assert_eq!(e.kind, VarErrorKind::Unknown("nope".into()));
        for bad in [
            "{rand:0}",
            "{rand:5000}",
            "{rand:x}",
            "{len:0}",
            "{len:u64}",
            "{counter:zz}",
            "{unix_ms:3}",
            "{time:%Q}",
            "{token:1}",
        ] {
            assert!(run(bad).is_err(), "{bad}");
        }
        // The literal's own error, at the literal.
        let e = expand(
            &parse("ok{counter}zz"),
            &mut |t: &str| {
                if t == "zz" {
                    Err("not hex".into())
                } else {
                    Ok(vec![])
                }
            },
            &mut Context {
                counter: 1,
                counter_spec: CounterSpec::default(),
                now: chrono::NaiveDateTime::default(),
                unix_ms: 0,
                random: &mut |_: &mut [u8]| {},
                captures: &HashMap::new(),
            },
        )
        .unwrap_err();
        assert_eq!(e.span, 11..13);
    }

    #[test]
    fn spans_point_into_the_template() {
        let pieces = parse("a{{b{counter}c");
        assert_eq!(
            pieces,
            [
                Piece::Text {
                    text: "a{b".into(),
                    span: 0..4
                },
                Piece::Var {
                    name: "counter".into(),
                    args: None,
                    span: 4..13
                },
                Piece::Text {
                    text: "c".into(),
                    span: 13..14
                },
            ]
        );
    }

    #[test]
    fn the_counter_counts() {
        let spec = CounterSpec {
            start: 10,
            step: 5,
            ..CounterSpec::default()
        };
        assert_eq!([spec.value(0), spec.value(1), spec.value(2)], [10, 15, 20]);
        assert!(matches!(&parse("a{counter}")[1], Piece::Var { name, .. } if name == "counter"));
        assert!(matches!(&parse("a{{counter}")[..], [Piece::Text { .. }]));
    }
}
