//! "Did you mean …?": the closest known name to a misspelt one, and short lists of names.

/// The candidate closest to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_lowercase();
    let mut best: Option<(usize, f64, &'a str)> = None;
    let all: Vec<&'a str> = candidates.into_iter().collect();
    for &cand in &all {
        let cl = cand.to_lowercase();
        if cl == lower {
            return Some(cand);
        }
        let dist = strsim::damerau_levenshtein(&lower, &cl);
        let longest = lower.chars().count().max(cl.chars().count());
        let limit = (longest / 3).max(1);
        let sim = strsim::jaro_winkler(&lower, &cl);
        // A typo (small edit distance), or a long shared prefix (`pass` for `password`).
        let close = dist <= limit || (sim >= 0.9 && lower.len() >= 3);
        if !close {
            continue;
        }
        let better = match best {
            None => true,
            Some((d, s, _)) => dist < d || (dist == d && sim > s),
        };
        if better {
            best = Some((dist, sim, cand));
        }
    }
    if best.is_none() && lower.chars().count() >= 3 {
        // One name inside the other: `department-head` for `head`, `bell` for `bell-feed`.
        let mut contained: Vec<&'a str> = Vec::new();
        for cand in &all {
            let cl = cand.to_lowercase();
            if cl.chars().count() >= 3 && (lower.contains(&cl) || cl.contains(&lower)) {
                contained.push(cand);
            }
        }
        if contained.len() == 1 {
            return contained.pop();
        }
    }
    best.map(|(_, _, c)| c)
}

/// `a, b, c` (each in backticks when `code`), cut to `max` items with `, …`.
pub fn list<'a, I>(items: I, max: usize) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out = Vec::new();
    let mut more = false;
    for (i, item) in items.into_iter().enumerate() {
        if i == max {
            more = true;
            break;
        }
        out.push(item);
    }
    let mut s = out.join(", ");
    if more {
        s.push_str(", …");
    }
    s
}

/// "did you mean `x`? " when there is a close candidate, else "".
pub fn did_you_mean_prefix<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    did_you_mean(word, candidates)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos() {
        let steps = [
            "goto", "click", "fill", "select", "check", "expect", "wait_for",
        ];
        assert_eq!(did_you_mean("clik", steps), Some("click"));
        assert_eq!(did_you_mean("Click", steps), Some("click"));
        assert_eq!(did_you_mean("waitfor", steps), Some("wait_for"));
        assert_eq!(did_you_mean("expcet", steps), Some("expect"));
        assert_eq!(did_you_mean("navigate", steps), None);
        assert_eq!(
            did_you_mean("requestr", ["requester", "head", "collaborator"]),
            Some("requester")
        );
        assert_eq!(did_you_mean("pass", ["password", "user"]), Some("password"));
        assert_eq!(
            did_you_mean("department-head", ["requester", "head"]),
            Some("head")
        );
    }

    #[test]
    fn lists() {
        assert_eq!(list(["a", "b", "c"], 5), "a, b, c");
        assert_eq!(list(["a", "b", "c"], 2), "a, b, …");
    }
}
