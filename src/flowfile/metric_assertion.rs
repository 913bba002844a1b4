//! `MetricAssertion`: one line of a `metrics` step's `expect:`, such as `up{job="api"} == 1`
//! or `http_requests_total{status="500"} increase < 5`. Parsed by `flows check` (an error
//! names the column) and again when the step runs; evaluating it is `exec::step`'s job.

use std::collections::BTreeMap;
use std::fmt;

/// A comparison of a series' value (the sum over every series whose labels include the given
/// ones), or of its increase since the flow started.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricAssertion {
    pub metric: String,
    /// Labels the series must carry (equality); other labels are free.
    pub labels: BTreeMap<String, String>,
    /// Compare the increase since the flow started rather than the value now.
    pub increase: bool,
    pub op: CompareOp,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Eq => left == right,
            CompareOp::Ne => left != right,
            CompareOp::Lt => left < right,
            CompareOp::Le => left <= right,
            CompareOp::Gt => left > right,
            CompareOp::Ge => left >= right,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// Why a line is not an assertion, and the 0-based character column it went wrong at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSyntaxError {
    pub column: usize,
    pub message: String,
}

impl MetricAssertion {
    /// The series as written: `name{a="1",b="2"}`.
    pub fn series(&self) -> String {
        if self.labels.is_empty() {
            return self.metric.clone();
        }
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        format!("{}{{{}}}", self.metric, labels.join(","))
    }

    pub fn parse(text: &str) -> Result<MetricAssertion, MetricSyntaxError> {
        let chars: Vec<char> = text.chars().collect();
        let mut p = Cursor { chars, at: 0 };
        p.spaces();
        let metric = p.name(|c, first| {
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
        });
        if metric.is_empty() {
            return Err(p.error("expected a metric name (`http_requests_total`)"));
        }
        let mut labels = BTreeMap::new();
        p.spaces();
        if p.eat('{') {
            loop {
                p.spaces();
                if p.eat('}') {
                    break;
                }
                let name = p.name(|c, first| {
                    c.is_ascii_alphabetic() || c == '_' || (!first && c.is_ascii_digit())
                });
                if name.is_empty() {
                    return Err(p.error("expected a label name or `}`"));
                }
                p.spaces();
                if !p.eat('=') {
                    return Err(p.error("expected `=` after the label name (only `=` matches)"));
                }
                p.spaces();
                let value = p.quoted()?;
                labels.insert(name, value);
                p.spaces();
                if p.eat(',') {
                    continue;
                }
                if p.eat('}') {
                    break;
                }
                return Err(p.error("expected `,` or `}`"));
            }
        }
        p.spaces();
        let increase = p.word("increase");
        p.spaces();
        let op = [
            ("==", CompareOp::Eq),
            ("!=", CompareOp::Ne),
            ("<=", CompareOp::Le),
            (">=", CompareOp::Ge),
            ("<", CompareOp::Lt),
            (">", CompareOp::Gt),
        ]
        .into_iter()
        .find(|(t, _)| p.word(t))
        .map(|(_, op)| op)
        .ok_or_else(|| {
            p.error(if increase {
                "expected an operator after `increase`: == != < <= > >="
            } else {
                "expected `increase` or an operator: == != < <= > >="
            })
        })?;
        p.spaces();
        let start = p.at;
        let number: String = p.chars[p.at..].iter().collect::<String>().trim().to_owned();
        let value = number.parse::<f64>().ok().filter(|v| v.is_finite());
        match value {
            Some(value) => Ok(MetricAssertion {
                metric,
                labels,
                increase,
                op,
                value,
            }),
            None => Err(MetricSyntaxError {
                column: start,
                message: format!("expected a number after `{}`", op.text()),
            }),
        }
    }
}

impl fmt::Display for MetricAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inc = if self.increase { " increase" } else { "" };
        write!(
            f,
            "{}{inc} {} {}",
            self.series(),
            self.op.text(),
            self.value
        )
    }
}

struct Cursor {
    chars: Vec<char>,
    at: usize,
}

impl Cursor {
    fn spaces(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.chars.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self, w: &str) -> bool {
        let n = w.chars().count();
        let here: String = self.chars.iter().skip(self.at).take(n).collect();
        if here == w {
            self.at += n;
            true
        } else {
            false
        }
    }

    fn name(&mut self, ok: impl Fn(char, bool) -> bool) -> String {
        let start = self.at;
        while self
            .chars
            .get(self.at)
            .is_some_and(|&c| ok(c, self.at == start))
        {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn quoted(&mut self) -> Result<String, MetricSyntaxError> {
        if !self.eat('"') {
            return Err(self.error("expected a quoted label value (`\"api\"`)"));
        }
        let mut out = String::new();
        loop {
            match self.chars.get(self.at) {
                None => return Err(self.error("the label value's quote is not closed")),
                Some('"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.at += 1;
                    match self.chars.get(self.at) {
                        Some('n') => out.push('\n'),
                        Some(&c) => out.push(c),
                        None => return Err(self.error("the label value's quote is not closed")),
                    }
                    self.at += 1;
                }
                Some(&c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn error(&self, message: &str) -> MetricSyntaxError {
        MetricSyntaxError {
            column: self.at,
            message: message.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_and_increases() {
        let a = MetricAssertion::parse(r#"up{job="api"} == 1"#).expect("valid");
        assert_eq!(a.metric, "up");
        assert_eq!(a.labels["job"], "api");
        assert!(!a.increase);
        assert_eq!(a.op, CompareOp::Eq);
        assert_eq!(a.value, 1.0);
        let b =
            MetricAssertion::parse(r#"http_requests_total{status="500", route="/x"} increase < 5"#)
                .expect("valid");
        assert!(b.increase);
        assert_eq!(b.op, CompareOp::Lt);
        assert_eq!(
            b.to_string(),
            r#"http_requests_total{route="/x",status="500"} increase < 5"#
        );
        let c = MetricAssertion::parse("mails_sent_total>=0.5").expect("no spaces");
        assert_eq!((c.op, c.value), (CompareOp::Ge, 0.5));
    }

    #[test]
    fn errors_name_the_column() {
        let e = MetricAssertion::parse(r#"up{job=api} == 1"#).expect_err("unquoted");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("quoted"), "{e:?}");
        let e = MetricAssertion::parse("up = 1").expect_err("single =");
        assert_eq!(e.column, 3);
        let e = MetricAssertion::parse("up == one").expect_err("not a number");
        assert_eq!(e.column, 6);
        assert!(MetricAssertion::parse("").is_err());
        assert!(MetricAssertion::parse(r#"up{job="x"#).is_err());
    }

    #[test]
    fn comparisons_hold_as_written() {
        assert!(CompareOp::Lt.holds(4.0, 5.0));
        assert!(!CompareOp::Lt.holds(5.0, 5.0));
        assert!(CompareOp::Ne.holds(0.0, 1.0));
        assert!(CompareOp::Ge.holds(1.0, 1.0));
    }
}
