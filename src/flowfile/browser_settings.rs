//! Browser settings written as text in flows.toml and in flow files: `viewport = "1280x800"`,
//! `locale = "de-DE"`.

/// The page's content size in CSS pixels (`window.innerWidth` × `window.innerHeight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Display for Viewport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl std::str::FromStr for Viewport {
    type Err = String;

    /// `WIDTHxHEIGHT`, each 100..=10000 (`1280x800`, `390x844`).
    fn from_str(text: &str) -> Result<Viewport, String> {
        let bad = || {
            format!(
                "`{text}` is not a viewport; write WIDTHxHEIGHT in CSS pixels, e.g. `1280x800` or \
                 `390x844`"
            )
        };
        let (w, h) = text.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let number = |s: &str| {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse::<u32>().map_err(|_| bad())
        };
        let (width, height) = (number(w)?, number(h)?);
        for (what, v) in [("width", width), ("height", height)] {
            if !(100..=10_000).contains(&v) {
                return Err(format!(
                    "the viewport {what} {v} is out of range; use 100 to 10000 CSS pixels"
                ));
            }
        }
        Ok(Viewport { width, height })
    }
}

/// A BCP 47 language tag as browsers take it: `de`, `de-DE`, `pt-BR`, `zh-Hant-TW`.
pub fn check_locale(text: &str) -> Result<(), String> {
    let mut parts = text.split('-');
    let language = parts.next().unwrap_or_default();
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok =
        parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if language_ok && rest_ok {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not a language tag; write one as browsers take it, e.g. `de-DE`, `en-GB` \
             or `fr`"
        ))
    }
}

/// `de-DE` → `de-DE,de`: the Accept-Language list Chrome sends (the tag, then its language).
pub fn accept_languages(locale: &str) -> String {
    match locale.split_once('-') {
        Some((language, _)) => format!("{locale},{language}"),
        None => locale.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewports_parse_and_bad_ones_say_how_to_write_them() {
        assert_eq!(
            "1280x800".parse::<Viewport>(),
            Ok(Viewport {
                width: 1280,
                height: 800
            })
        );
        assert_eq!(
            " 390X844 ".parse::<Viewport>().map(|v| v.to_string()),
            Ok("390x844".to_owned())
        );
        for bad in [
            "1280", "1280x", "x800", "1280*800", "-1x800", "12.5x800", "wide",
        ] {
            let err = bad.parse::<Viewport>().expect_err(bad);
            assert!(err.contains("WIDTHxHEIGHT"), "{bad}: {err}");
        }
        assert!("99x800"
            .parse::<Viewport>()
            .expect_err("small")
            .contains("out of range"));
    }

    #[test]
    fn locales() {
        for ok in ["de", "de-DE", "pt-BR", "zh-Hant-TW", "es-419"] {
            assert!(check_locale(ok).is_ok(), "{ok}");
        }
        for bad in ["", "d", "de_DE", "german!", "de-", "de--DE"] {
            assert!(check_locale(bad).is_err(), "{bad}");
        }
        assert_eq!(accept_languages("de-DE"), "de-DE,de");
        assert_eq!(accept_languages("fr"), "fr");
    }
}
