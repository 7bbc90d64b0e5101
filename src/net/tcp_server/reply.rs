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
    /// For a regex rule, the reply as text with what the regex captured put in: `$1`,
    /// `$name`, `${name}` or `{name}` (`$$` is a dollar sign); encoded in the rules'
    /// encoding as it is sent.
    pub template: Option<String>,
}

impl ReplyRule {
    /// A rule whose reply is fixed bytes.
    pub fn fixed(matcher: Matcher, reply: Vec<u8>) -> Self {
        Self {
            matcher,
            reply,
            template: None,
        }
    }
}

/// `{name}` of a group the regex has becomes `${name}` (other braces, as in JSON, stay).
fn braces_to_dollars(template: &str, re: &regex::Regex) -> String {
    let names: Vec<&str> = re.capture_names().flatten().collect();
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let name = from[1..].split('}').next().unwrap_or_default();
        let closed = from[1..].contains('}');
        if closed && names.contains(&name) && !before.ends_with('$') {
            out.push_str(&format!("${{{name}}}"));
            rest = &from[name.len() + 2..];
        } else {
            out.push('{');
            rest = &from[1..];
        }
    }
    out.push_str(rest);
    out
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
                            if let Some(template) = &rule.template {
                                // The reply with what was captured put in.
                                let caps = re.captures(text)?;
                                let mut out = String::new();
                                caps.expand(&braces_to_dollars(template, re), &mut out);
                                return Some(
                                    encoding.encode(&out).unwrap_or_else(|_| out.into_bytes()),
                                );
                            }
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
                ReplyRule::fixed(Matcher::Contains(b"ping".to_vec()), b"pong".to_vec()),
                ReplyRule::fixed(
                    Matcher::Regex(regex::Regex::new("^你好").unwrap()),
                    b"hi".to_vec(),
                ),
                ReplyRule {
                    matcher: Matcher::Regex(
                        regex::Regex::new(r"^GET (\w+) id=(?P<id>\d+)").unwrap(),
                    ),
                    reply: Vec::new(),
                    template: Some("$1 {\"id\": {id}, \"again\": ${id}} $$5".into()),
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
            // Captures in the answer; JSON braces stay; $$ is a dollar.
            (
                &rules,
                b"GET temp id=42",
                Some(b"temp {\"id\": 42, \"again\": 42} $5"),
            ),
        ];
        for (reply, input, want) in cases {
            assert_eq!(reply.answer(input).as_deref(), *want, "{input:?}");
        }
    }
}
