//! The auto-reply: what the server answers by itself (off, echo, a fixed text, rules that
//! match a client's bytes).

use crate::proto::TextEncoding;

/// What the server answers by itself.
#[derive(Debug, Clone, Default)]
pub enum AutoReply {
    #[default]
    Off,
    /// Send every chunk back unchanged.
    Echo,
    /// Answer every chunk with these bytes.
    Fixed(Vec<u8>),
    /// The first rule whose matcher fits the chunk answers; no match, no answer.
    Rules {
        rules: Vec<ReplyRule>,
        encoding: TextEncoding,
    },
}

#[derive(Debug, Clone)]
pub struct ReplyRule {
    pub matcher: Matcher,
    pub reply: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Matcher {
    /// The chunk contains these bytes (the pattern, encoded in the rules' encoding).
    Contains(Vec<u8>),
    /// The chunk, decoded in the rules' encoding, matches this regular expression.
    Regex(regex::Regex),
}

impl AutoReply {
    /// The answer to one received chunk, if any.
    pub fn answer(&self, data: &[u8]) -> Option<Vec<u8>> {
        match self {
            AutoReply::Off => None,
            AutoReply::Echo => Some(data.to_vec()),
            AutoReply::Fixed(bytes) => Some(bytes.clone()),
            AutoReply::Rules { rules, encoding } => {
                let mut text = None;
                rules.iter().find_map(|rule| {
                    let hit = match &rule.matcher {
                        Matcher::Contains(needle) => {
                            needle.is_empty()
                                || data.windows(needle.len()).any(|w| w == needle.as_slice())
                        }
                        Matcher::Regex(re) => {
                            let text = text.get_or_insert_with(|| encoding.decode_display(data));
                            re.is_match(text)
                        }
                    };
                    hit.then(|| rule.reply.clone())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_reply_rules() {
        let rules = AutoReply::Rules {
            rules: vec![
                ReplyRule {
                    matcher: Matcher::Contains(b"ping".to_vec()),
                    reply: b"pong".to_vec(),
                },
                ReplyRule {
                    matcher: Matcher::Regex(regex::Regex::new("^你好").unwrap()),
                    reply: b"hi".to_vec(),
                },
            ],
            encoding: TextEncoding::Gbk,
        };
        type Case<'a> = (&'a AutoReply, &'a [u8], Option<&'a [u8]>);
        let cases: &[Case] = &[
            (&AutoReply::Off, b"x", None),
            (&AutoReply::Echo, b"x", Some(b"x")),
            (&AutoReply::Fixed(b"ok".to_vec()), b"x", Some(b"ok")),
            (&rules, b"a ping b", Some(b"pong")),
            (&rules, &[0xC4, 0xE3, 0xBA, 0xC3, b'!'], Some(b"hi")),
            (&rules, b"nothing", None),
        ];
        for (reply, input, want) in cases {
            assert_eq!(reply.answer(input).as_deref(), *want, "{input:?}");
        }
    }
}
