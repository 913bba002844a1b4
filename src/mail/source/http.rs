//! The HTTP plumbing the sources share: one GET, statuses turned into [`MailError`]s.

use reqwest::header::HeaderMap;

use crate::mail::MailError;

/// GETs `url` and returns the body of a 2xx answer. No time limit of its own: the waiting
/// step bounds each request by what is left of its budget (a slow source may use all of it).
pub(super) async fn get(
    http: &crate::net::Http,
    source_name: &str,
    url: &url::Url,
    headers: HeaderMap,
) -> Result<Vec<u8>, MailError> {
    // The URL may carry mailbox addresses but never a secret (secrets go in headers).
    let shown = url.as_str().to_owned();
    let request_error = |error| MailError::Request {
        source_name: source_name.to_owned(),
        url: shown.clone(),
        error,
    };
    let resp = http
        .get(url.clone())
        .headers(headers)
        .send()
        .await
        .map_err(request_error)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(request_error)?;
    match status {
        200..=299 => Ok(body.to_vec()),
        401 | 403 => Err(MailError::Rejected {
            source_name: source_name.to_owned(),
            status,
        }),
        _ => Err(MailError::Status {
            source_name: source_name.to_owned(),
            url: shown,
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        }),
    }
}

/// `base` + `path`, keeping any path prefix of `base` (`http://h/mail` + `/email`).
pub(super) fn join(source_name: &str, base: &str, path: &str) -> Result<url::Url, MailError> {
    let joined = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let url = url::Url::parse(&joined).map_err(|e| MailError::BadUrl {
        source_name: source_name.to_owned(),
        url: base.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(MailError::BadUrl {
            source_name: source_name.to_owned(),
            url: base.to_owned(),
            reason: "the scheme must be http or https".into(),
        });
    }
    Ok(url)
}

/// Parses a JSON body, naming the source and URL when it is not what the API documents.
pub(super) fn json<T: serde::de::DeserializeOwned>(
    source_name: &str,
    url: &url::Url,
    body: &[u8],
) -> Result<T, MailError> {
    serde_json::from_slice(body).map_err(|e| MailError::Response {
        source_name: source_name.to_owned(),
        url: url.as_str().to_owned(),
        reason: format!("not the documented JSON ({e})"),
    })
}

/// An RFC 3339 timestamp, or `None`.
pub(super) fn timestamp(s: Option<&str>) -> Option<time::OffsetDateTime> {
    s.and_then(|s| {
        time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
    })
}
