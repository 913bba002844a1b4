//! A message's attachments, decoded: read on demand from the raw source, only by a step that
//! checks one (a poll never pays for decoding a 5 MB PDF it does not look at).
//!
//! Owns finding the attachment parts and decoding them. Does not own what a flow asserts about
//! them or where they are kept (src/exec/step/mail_checks.rs).

use std::fmt;

use mailparse::{DispositionType, MailHeaderMap};

use super::MailError;

/// One attachment. Its bytes may carry secrets: `Debug` shows the name, type and size only.
#[derive(Clone)]
pub struct Attachment {
    /// The file name the sender gave (`filename`, else the type's `name`), as sent: it is not
    /// a safe path (see [`Attachment::safe_file_name`]).
    pub name: String,
    /// The media type, lowercase, without parameters.
    pub media_type: String,
    /// The decoded bytes (transfer encoding undone).
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Attachment {
    /// Whether its content is text a flow can search: `text/*`, or JSON/XML/CSV by type.
    pub fn is_text(&self) -> bool {
        let t = self.media_type.as_str();
        t.starts_with("text/")
            || t.ends_with("+json")
            || t.ends_with("+xml")
            || matches!(
                t,
                "application/json" | "application/xml" | "application/csv" | "application/x-ndjson"
            )
    }

    /// The content as text (UTF-8, invalid bytes replaced): only for [`Attachment::is_text`].
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// A file name that stays in the directory it is written to: the last path component of
    /// the sender's name, without control characters or a leading dot; `attachment-N` when
    /// nothing usable is left.
    pub fn safe_file_name(&self, index: usize) -> String {
        let last = self
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
            .collect::<String>();
        let trimmed = last.trim().trim_start_matches('.').trim();
        let short: String = trimmed.chars().take(120).collect();
        if short.is_empty() {
            format!("attachment-{}", index + 1)
        } else {
            short
        }
    }

    /// The SHA-256 of the bytes, lowercase hex.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(&self.bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The attachments of a raw message, in order: parts sent as `Content-Disposition: attachment`,
/// and non-text parts with a file name that are not marked inline (some senders omit the
/// disposition). An inline logo in `multipart/related` is not an attachment.
pub fn attachments(raw: &[u8]) -> Result<Vec<Attachment>, MailError> {
    let malformed = |reason: String| MailError::Malformed {
        id: String::new(),
        reason,
    };
    let mail = mailparse::parse_mail(raw).map_err(|e| malformed(e.to_string()))?;
    let mut out = Vec::new();
    for part in mail.parts() {
        let media_type = part.ctype.mimetype.to_ascii_lowercase();
        if media_type.starts_with("multipart/") {
            continue;
        }
        let disposition = part.get_content_disposition();
        let name = disposition
            .params
            .get("filename")
            .or_else(|| part.ctype.params.get("name"))
            .cloned();
        // mailparse reads a missing Content-Disposition as inline: tell the two apart.
        let declared = part
            .headers
            .get_first_value("Content-Disposition")
            .is_some();
        let is_attachment = match disposition.disposition {
            DispositionType::Attachment => true,
            DispositionType::Inline if declared => false,
            _ => {
                name.is_some()
                    && !matches!(media_type.as_str(), "text/plain" | "text/html")
                    && part.headers.get_first_value("Content-ID").is_none()
            }
        };
        if !is_attachment {
            continue;
        }
        let bytes = part.get_body_raw().map_err(|e| {
            malformed(format!(
                "its attachment {:?} does not decode: {e}",
                name.as_deref().unwrap_or("(unnamed)")
            ))
        })?;
        out.push(Attachment {
            name: name.unwrap_or_default(),
            media_type,
            bytes,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "From: a@x.test\r\nTo: b@x.test\r\nSubject: Transcript\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: multipart/related; boundary=\"R\"\r\n\r\n\
--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <img src=\"cid:logo\"></p>\r\n\
--R\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
--R--\r\n\
--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=\"../../transcript.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\nVGlja2V0ICMxMDAxCg==\r\n\
--B\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
--B--\r\n";

    #[test]
    fn finds_attachments_not_inline_images() {
        let list = attachments(MAIL.as_bytes()).expect("parses");
        let names: Vec<&str> = list.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["../../transcript.txt", "report.pdf"]);
        assert_eq!(list[0].media_type, "text/plain");
        assert!(list[0].is_text() && !list[1].is_text());
        assert_eq!(list[0].text(), "Ticket #1001\n");
        assert_eq!(list[1].bytes, b"%PDF-1.4\n");
        assert_eq!(
            list[0].sha256(),
            "51c86af9efc97c7c4d78764bb01a0ec5a2aa8effafcb25195c61be50b0c216ae"
        );
    }

    #[test]
    fn file_names_stay_in_their_directory() {
        let a = |name: &str| Attachment {
            name: name.to_owned(),
            media_type: "text/plain".into(),
            bytes: vec![],
        };
        assert_eq!(a("../../etc/passwd").safe_file_name(0), "passwd");
        assert_eq!(a("C:\\temp\\x.csv").safe_file_name(0), "x.csv");
        assert_eq!(a(".bashrc").safe_file_name(0), "bashrc");
        assert_eq!(a("..").safe_file_name(2), "attachment-3");
        assert_eq!(a("").safe_file_name(0), "attachment-1");
        assert_eq!(a("a\u{0}b\nc.txt").safe_file_name(0), "abc.txt");
    }
}
