//! What a remote WebDriver server's `/status` says, read the way a Selenium Grid 4 writes it:
//! ready or not (and why), and per browser name how many slots it has, how many are free and
//! whether its nodes keep downloads for the client (`se:downloadsEnabled`, the Grid's managed
//! downloads). A server that is not a Grid (a remote chromedriver) has no `nodes`: then only
//! `ready` is known.

use serde_json::Value;

/// One `/status` answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridStatus {
    /// `value.ready`; `None` when the answer is not a WebDriver status at all.
    pub ready: Option<bool>,
    /// `value.message` ("Selenium Grid ready.", "Selenium Grid not ready.").
    pub message: String,
    /// The Grid's slots (`None` for a server without `value.nodes`, i.e. not a Grid).
    pub slots: Option<Vec<Slot>>,
}

/// One slot of a Grid node.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// `stereotype.browserName` ("chrome", "firefox", "MicrosoftEdge").
    pub browser: String,
    pub free: bool,
    /// The node keeps the downloads of its sessions for the client to fetch.
    pub downloads: bool,
    /// The node is up (a draining or down node takes no new session).
    pub up: bool,
}

/// The slots a Grid has for one browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capacity {
    pub all: usize,
    pub free: usize,
    /// Every one of them keeps downloads (`se:downloadsEnabled`).
    pub downloads: bool,
}

impl GridStatus {
    /// Reads a `/status` body.
    pub fn parse(body: &Value) -> GridStatus {
        let ready = body.pointer("/value/ready").and_then(Value::as_bool);
        let message = body
            .pointer("/value/message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let slots = body
            .pointer("/value/nodes")
            .and_then(Value::as_array)
            .map(|nodes| {
                nodes
                    .iter()
                    .flat_map(|node| {
                        let up = node
                            .get("availability")
                            .and_then(Value::as_str)
                            .is_none_or(|a| a == "UP");
                        node.get("slots")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .map(move |s| Slot {
                                browser: s
                                    .pointer("/stereotype/browserName")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                                free: s.get("session").is_none_or(Value::is_null),
                                downloads: s.pointer("/stereotype/se:downloadsEnabled")
                                    == Some(&Value::Bool(true)),
                                up,
                            })
                    })
                    .collect()
            });
        GridStatus {
            ready,
            message,
            slots,
        }
    }

    /// `(free, all)` over every slot, whatever its browser; `None` when not a Grid.
    pub fn slot_counts(&self) -> Option<(usize, usize)> {
        let slots = self.slots.as_ref()?;
        Some((slots.iter().filter(|s| s.free).count(), slots.len()))
    }

    /// The slots of nodes that are up, for `browser` (a W3C browser name: "chrome",
    /// "firefox"); `None` when not a Grid.
    pub fn capacity(&self, browser: &str) -> Option<Capacity> {
        let mine: Vec<&Slot> = self
            .slots
            .as_ref()?
            .iter()
            .filter(|s| s.up && s.browser.eq_ignore_ascii_case(browser))
            .collect();
        Some(Capacity {
            all: mine.len(),
            free: mine.iter().filter(|s| s.free).count(),
            downloads: !mine.is_empty() && mine.iter().all(|s| s.downloads),
        })
    }

    /// The browser names the Grid has slots for, each once, in the order seen.
    pub fn browsers(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for s in self.slots.iter().flatten() {
            if !names.contains(&s.browser) {
                names.push(s.browser.clone());
            }
        }
        names
    }

    /// Why a run that holds `needed` sessions of `browser` at once cannot start on this server,
    /// or `None` when it can (a server that is not a Grid is taken at its word, `ready`).
    /// Fewer slots than sessions is refused before anything starts: the run's own sessions
    /// would hold every slot while the next one waited in the Grid's queue until a flow timed
    /// out.
    pub fn refusal(&self, url: &str, browser: &str, needed: usize) -> Option<String> {
        match self.ready {
            None => {
                return Some(format!(
                    "{url}/status answered without a WebDriver status (value.ready); point \
                     --webdriver-url / browser.webdriver_url at the server's root (the Grid's \
                     URL, without /wd/hub unless it needs it)"
                ))
            }
            Some(false) => {
                let why = if self.message.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", self.message.trim_end_matches('.'))
                };
                return Some(format!(
                    "the WebDriver server at {url} is not ready{why}; wait for the Grid's nodes \
                     to register (GET {url}/status says \"ready\": true), or start a node with \
                     the browser"
                ));
            }
            Some(true) => {}
        }
        let cap = self.capacity(browser)?;
        if cap.all == 0 {
            let has = self.browsers();
            let has = if has.is_empty() {
                "no slots at all".to_owned()
            } else {
                format!("slots for {} only", has.join(", "))
            };
            return Some(format!(
                "the Grid at {url} has no slot for {browser} ({has}); start a node with \
                 {browser} and its driver on PATH (--detect-drivers true), or choose a browser \
                 it has"
            ));
        }
        if cap.all < needed {
            return Some(format!(
                "the Grid at {url} has {} {browser} slot{}; this run needs {needed} sessions at \
                 once; start the Grid with --max-sessions {needed} (and \
                 --override-max-sessions true beyond the node's cores), or use isolation = \
                 \"context\" (one browser for all users)",
                cap.all,
                if cap.all == 1 { "" } else { "s" },
            ));
        }
        None
    }
}

/// The Grid's managed downloads of a session (`/session/{id}/se/files`): list, fetch, clear.
impl super::BrowserSession {
    async fn se_files(
        &self,
        method: http::Method,
        body: Option<Value>,
    ) -> Result<Value, super::BrowserError> {
        let _timed = self.tick();
        self.client
            .issue_cmd(super::RawCmd {
                method,
                path: "se/files".to_owned(),
                body,
            })
            .await
            .map_err(super::BrowserError::from_cmd)
    }

    /// The names of the files the Grid node keeps for this session.
    pub async fn grid_download_names(
        &self,
    ) -> Result<std::collections::BTreeSet<String>, super::BrowserError> {
        let v = self.se_files(http::Method::GET, None).await?;
        let names = v.get("names").and_then(Value::as_array).ok_or_else(|| {
            super::BrowserError::Command(format!(
                "the Grid's file list (GET se/files) answered {v} without names"
            ))
        })?;
        Ok(names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect())
    }

    /// The bytes of `name`, one of the session's downloads: the Grid sends it zipped, base64.
    pub async fn grid_download(&self, name: &str) -> Result<Vec<u8>, super::BrowserError> {
        let v = self
            .se_files(
                http::Method::POST,
                Some(serde_json::json!({ "name": name })),
            )
            .await?;
        let contents = v.get("contents").and_then(Value::as_str).ok_or_else(|| {
            super::BrowserError::Command(format!(
                "the Grid answered the request for {name} without contents"
            ))
        })?;
        unzip_one(contents, name).map_err(|e| {
            super::BrowserError::Command(format!("the Grid's copy of {name} is unreadable: {e}"))
        })
    }

    /// Deletes the session's downloads on the node (the Grid deletes all of them at once), so
    /// that a later download of the same name is new, not renamed by the browser.
    pub async fn grid_downloads_clear(&self) -> Result<(), super::BrowserError> {
        self.se_files(http::Method::DELETE, None).await.map(|_| ())
    }
}

/// The one file `name` in a base64 zip archive.
fn unzip_one(base64_zip: &str, name: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    use std::io::Read;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_zip.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a zip archive: {e}"))?;
    let index = (0..archive.len())
        .find(|&i| {
            archive
                .name_for_index(i)
                .and_then(Result::ok)
                .is_some_and(|n| n.rsplit('/').next() == Some(name))
        })
        .ok_or_else(|| format!("the archive holds no file named {name}"))?;
    let mut file = archive
        .by_index(index)
        .map_err(|e| format!("cannot open {name} in the archive: {e}"))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)
        .map_err(|e| format!("cannot unpack {name}: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grid(slots: Value, ready: bool) -> GridStatus {
        GridStatus::parse(
            &json!({"value": {"ready": ready, "message": "Selenium Grid ready.",
            "nodes": [{"availability": "UP", "slots": slots}]}}),
        )
    }

    fn slot(browser: &str, busy: bool, downloads: bool) -> Value {
        let mut stereotype = json!({ "browserName": browser, "platformName": "linux" });
        if downloads {
            stereotype["se:downloadsEnabled"] = json!(true);
        }
        json!({ "stereotype": stereotype, "session": if busy { json!({"sessionId": "s"}) } else { Value::Null } })
    }

    #[test]
    fn capacity_counts_the_slots_of_one_browser_and_their_downloads() {
        let g = grid(
            json!([
                slot("chrome", false, true),
                slot("chrome", true, true),
                slot("firefox", false, false)
            ]),
            true,
        );
        assert_eq!(
            g.capacity("chrome"),
            Some(Capacity {
                all: 2,
                free: 1,
                downloads: true
            })
        );
        assert_eq!(
            g.capacity("firefox"),
            Some(Capacity {
                all: 1,
                free: 1,
                downloads: false
            })
        );
        assert_eq!(g.slot_counts(), Some((2, 3)));
        assert_eq!(g.browsers(), ["chrome", "firefox"]);
    }

    #[test]
    fn a_grid_download_is_unpacked_from_its_base64_zip() {
        use base64::Engine;
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            w.start_file("tickets.csv", opts).expect("zip entry");
            w.write_all(b"id,title\n1,a\n").expect("zip write");
            w.finish().expect("zip finish");
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(buf.into_inner());
        assert_eq!(
            unzip_one(&b64, "tickets.csv").as_deref(),
            Ok(&b"id,title\n1,a\n"[..])
        );
        assert!(unzip_one(&b64, "other.csv").is_err_and(|e| e.contains("no file named other.csv")));
        assert!(unzip_one("%%%", "x").is_err_and(|e| e.contains("not base64")));
    }

    #[test]
    fn a_down_node_offers_no_slot() {
        let g = GridStatus::parse(&json!({"value": {"ready": true, "nodes": [
            {"availability": "DOWN", "slots": [slot("chrome", false, false)]}]}}));
        assert_eq!(g.capacity("chrome").map(|c| c.all), Some(0));
    }

    #[test]
    fn refusals_say_what_is_missing_and_what_to_do() {
        let url = "http://grid:4444";
        let two = grid(
            json!([slot("chrome", false, false), slot("chrome", false, false)]),
            true,
        );
        assert_eq!(two.refusal(url, "chrome", 2), None);
        let short = two.refusal(url, "chrome", 4).unwrap_or_default();
        assert!(
            short.contains("has 2 chrome slots; this run needs 4 sessions")
                && short.contains("--max-sessions 4"),
            "{short}"
        );
        let none = two.refusal(url, "firefox", 1).unwrap_or_default();
        assert!(
            none.contains("no slot for firefox (slots for chrome only)"),
            "{none}"
        );
        let not_ready = GridStatus::parse(
            &json!({"value": {"ready": false, "message": "Selenium Grid not ready.", "nodes": []}}),
        );
        let why = not_ready.refusal(url, "chrome", 1).unwrap_or_default();
        assert!(
            why.contains("is not ready (Selenium Grid not ready)"),
            "{why}"
        );
        let junk = GridStatus::parse(&json!({"hello": "world"}));
        assert!(junk
            .refusal(url, "chrome", 1)
            .is_some_and(|w| w.contains("without a WebDriver status")));
        // A remote chromedriver: no nodes, ready is all there is.
        let plain = GridStatus::parse(&json!({"value": {"ready": true, "message": "ok"}}));
        assert_eq!(plain.refusal(url, "chrome", 9), None);
    }
}
