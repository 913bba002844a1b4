//! `metrics`: a Prometheus text endpoint (parsed with `prometheus-parse`), series values and
//! their increase since the flow started. The flow runner reads every endpoint a `metrics`
//! step with an `increase` assertion names before the flow's first step
//! ([`read_flow_start_metrics`]).

use std::collections::{BTreeMap, HashMap};

use reqwest::header::HeaderMap;

use super::{conclude, get, Row};
use crate::exec::step::context::{Fail, StepContext, StepResult};
use crate::flowfile::ast::{MetricsStep, Step};
use crate::flowfile::metric_assertion::MetricAssertion;

/// One series: its name, labels and value (histograms and summaries as their `_count`).
#[derive(Debug, Clone)]
struct Series {
    metric: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// What each metrics endpoint said when the flow started, by URL; or why it could not be read.
#[derive(Debug, Default)]
pub(crate) struct MetricsAtStart(HashMap<String, Result<Vec<Series>, String>>);

fn endpoint(s: &MetricsStep) -> &str {
    s.url.as_ref().map_or("/metrics", |u| u.value.as_str())
}

/// Reads, before the flow's first step, every endpoint that a `metrics` step of the flow
/// compares an `increase` against.
pub(crate) async fn read_flow_start_metrics(ctx: &StepContext<'_>) -> MetricsAtStart {
    let mut out = MetricsAtStart::default();
    for planned in &ctx.flow.steps {
        let Step::Metrics(m) = &planned.step.value else {
            continue;
        };
        let wants_increase = m
            .expect
            .iter()
            .any(|e| MetricAssertion::parse(&e.value).is_ok_and(|a| a.increase));
        if !wants_increase {
            continue;
        }
        let Ok((url, _)) = ctx.render_shown(endpoint(m)) else {
            continue;
        };
        let url = ctx.resolve_url(&url, false);
        if out.0.contains_key(&url) {
            continue;
        }
        let fail = Fail("metrics");
        let read = scrape(ctx, &url, ctx.timeout(m.timeout.as_ref()), &fail)
            .await
            .map_err(|e| e.message());
        out.0.insert(url, read);
    }
    out
}

async fn scrape(
    ctx: &StepContext<'_>,
    url: &str,
    timeout: std::time::Duration,
    fail: &Fail<'_>,
) -> Result<Vec<Series>, crate::exec::step::StepFailure> {
    let resp = get(ctx, ctx.http, url, None, HeaderMap::new(), timeout, fail).await?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(fail.mismatch(format!(
            "GET {}: status {} (expected 2xx)",
            ctx.redactor.redact(url),
            status.as_u16()
        )));
    }
    parse(&text).map_err(|e| {
        fail.mismatch(format!(
            "{} is not Prometheus text: {e}",
            ctx.redactor.redact(url)
        ))
    })
}

fn parse(text: &str) -> Result<Vec<Series>, String> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).map_err(|e| e.to_string())?;
    Ok(scrape
        .samples
        .into_iter()
        .map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                prometheus_parse::Value::Histogram(h) => {
                    h.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                prometheus_parse::Value::Summary(q) => q.len() as f64,
            };
            Series {
                metric: s.metric,
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                value,
            }
        })
        .collect())
}

/// The sum of every series of `a.metric` carrying `a.labels`; `None` when the metric has no
/// series at all (a misspelt name must not read as zero). A metric that exists but has no
/// series with these labels sums to 0: a counter is absent until its first increment.
fn sum(series: &[Series], a: &MetricAssertion) -> Option<(f64, usize)> {
    let of_metric: Vec<&Series> = series.iter().filter(|s| s.metric == a.metric).collect();
    if of_metric.is_empty() {
        return None;
    }
    let matching: Vec<&&Series> = of_metric
        .iter()
        .filter(|s| a.labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .collect();
    // Folded from +0.0: an empty `sum()` of floats is -0.0, which would print as "-0".
    Some((
        matching.iter().fold(0.0, |acc, s| acc + s.value),
        matching.len(),
    ))
}

pub(in crate::exec::step) async fn metrics(
    ctx: &mut StepContext<'_>,
    s: &MetricsStep,
) -> StepResult {
    let (url, shown) = ctx
        .render_shown(endpoint(s))
        .map_err(|e| Fail("metrics").with(e))?;
    let summary = format!("metrics {shown}: {} assertion(s)", s.expect.len());
    let fail = Fail(&summary);
    let url = ctx.resolve_url(&url, false);
    let mut assertions = Vec::new();
    for e in &s.expect {
        assertions.push(
            MetricAssertion::parse(&e.value)
                .map_err(|err| fail.input(format!("{:?}: {}", e.value, err.message)))?,
        );
    }
    let now = scrape(ctx, &url, ctx.timeout(s.timeout.as_ref()), &fail).await?;
    let mut rows = Vec::new();
    for a in &assertions {
        let expected = format!(
            "{}{} {}",
            if a.increase { "increase " } else { "" },
            a.op.text(),
            a.value
        );
        let Some((value, n)) = sum(&now, a) else {
            rows.push(Row::new(
                a.series(),
                expected,
                format!("no series named {} at {shown}", a.metric),
                false,
            ));
            continue;
        };
        if !a.increase {
            let actual = if n == 0 {
                format!("no series with these labels (sum {value})")
            } else {
                format!("{value} ({n} series)")
            };
            // A value assertion about labels nothing carries is not verified.
            rows.push(Row::new(
                a.series(),
                expected,
                actual,
                n > 0 && a.op.holds(value, a.value),
            ));
            continue;
        }
        let start = ctx.metrics_at_start.0.get(&url);
        let row = match start {
            None => Row::new(
                a.series(),
                expected,
                "no reading from the flow's start".to_owned(),
                false,
            ),
            Some(Err(why)) => Row::new(
                a.series(),
                expected,
                format!("the flow-start reading failed: {why}"),
                false,
            ),
            Some(Ok(before)) => {
                let before_sum = sum(before, a).map_or(0.0, |(v, _)| v);
                let delta = value - before_sum;
                Row::new(
                    a.series(),
                    expected,
                    format!("{before_sum} → {value}: increase {delta}"),
                    a.op.holds(delta, a.value),
                )
            }
        };
        rows.push(row);
    }
    let asked = format!(
        "GET {shown}\n{}\n",
        s.expect
            .iter()
            .map(|e| e.value.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    conclude(ctx, "metrics", &fail, summary.clone(), asked, rows, vec![])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE req_total counter\nreq_total{route=\"/a\",status=\"200\"} 3\nreq_total{route=\"/b\",status=\"500\"} 2\nreq_total{route=\"/c\",status=\"500\"} 1\n# TYPE up gauge\nup{job=\"api\"} 1\n";

    #[test]
    fn sums_the_series_carrying_the_labels() {
        let series = parse(TEXT).expect("prometheus text");
        let a = MetricAssertion::parse(r#"req_total{status="500"} < 5"#).expect("valid");
        assert_eq!(sum(&series, &a), Some((3.0, 2)));
        let up = MetricAssertion::parse(r#"up{job="api"} == 1"#).expect("valid");
        assert_eq!(sum(&series, &up), Some((1.0, 1)));
        // A metric that exists but has no such series sums to 0; one that does not exist is
        // not read as 0.
        let none = MetricAssertion::parse(r#"req_total{status="404"} == 0"#).expect("valid");
        assert_eq!(sum(&series, &none), Some((0.0, 0)));
        let typo = MetricAssertion::parse(r#"reqs_total == 0"#).expect("valid");
        assert_eq!(sum(&series, &typo), None);
    }
}
