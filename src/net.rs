//! HTTP access to the target: one client for every request the runner makes (health pre-check,
//! `http` steps, the mail source, realtime auth and SSE, saved-session checks), which adds the
//! target's HTTP basic auth to requests for the target's own origins only, and accepts
//! self-signed certificates when `[target] accept_invalid_certs` says so.
//!
//! Also: a websocket TLS connector with the same certificate policy, and [`describe_error`],
//! which turns a request error into words (an untrusted certificate says so, and what to set).

use std::sync::Arc;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, RequestBuilder};

use crate::config::BasicAuth;

/// What the runner may do with the target: its origins, their basic auth, the TLS policy.
#[derive(Default)]
struct Target {
    /// `scheme://host:port` of base_url and api_url (and the web server's URL).
    origins: Vec<url::Origin>,
    /// `Basic …`, marked sensitive (never printed by reqwest/hyper debug output).
    authorization: Option<HeaderValue>,
    accept_invalid_certs: bool,
}

/// The runner's HTTP client. Cheap to clone.
#[derive(Clone, Default)]
pub struct Http {
    client: reqwest::Client,
    target: Arc<Target>,
}

impl From<reqwest::Client> for Http {
    /// A plain client: no target origins, no basic auth.
    fn from(client: reqwest::Client) -> Http {
        Http {
            client,
            target: Arc::default(),
        }
    }
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field(
                "origins",
                &self
                    .target
                    .origins
                    .iter()
                    .map(url::Origin::ascii_serialization)
                    .collect::<Vec<_>>(),
            )
            .field("basic_auth", &self.target.authorization.is_some())
            .field("accept_invalid_certs", &self.target.accept_invalid_certs)
            .finish()
    }
}

/// `Basic base64(user:password)`, marked sensitive.
pub fn basic_authorization(auth: &BasicAuth) -> Option<HeaderValue> {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", auth.username, auth.password.value));
    let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl Http {
    /// The client for a suite's target: its origins (base and API URL) get its basic auth,
    /// and its certificate setting.
    pub fn for_target(user_agent: &str, config: &crate::config::Config) -> Http {
        Http::new(
            user_agent,
            &[config.base_url.as_deref(), config.api_url.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            config.basic_auth.as_ref(),
            config.accept_invalid_certs,
        )
    }

    /// A client for a run: `user_agent` on every request, invalid certificates accepted when
    /// `accept_invalid_certs`, and `basic_auth` sent to `origins` (URLs; their origins count).
    pub fn new(
        user_agent: &str,
        origins: &[&str],
        basic_auth: Option<&BasicAuth>,
        accept_invalid_certs: bool,
    ) -> Http {
        Self::with_builder(
            reqwest::Client::builder().user_agent(user_agent),
            origins,
            basic_auth,
            accept_invalid_certs,
        )
    }

    /// As [`Http::new`], from a builder with other settings (no redirects, a timeout).
    pub fn with_builder(
        builder: reqwest::ClientBuilder,
        origins: &[&str],
        basic_auth: Option<&BasicAuth>,
        accept_invalid_certs: bool,
    ) -> Http {
        let client = builder
            .danger_accept_invalid_certs(accept_invalid_certs)
            .build()
            .unwrap_or_default();
        Http {
            client,
            target: Arc::new(Target {
                origins: parse_origins(origins),
                authorization: basic_auth.and_then(basic_authorization),
                accept_invalid_certs,
            }),
        }
    }

    /// The same client, with `url`'s origin also counted as the target's (the web server's URL,
    /// known once it started).
    pub fn with_origin(&self, url: &str) -> Http {
        let mut origins = self.target.origins.clone();
        origins.extend(parse_origins(&[url]));
        Http {
            client: self.client.clone(),
            target: Arc::new(Target {
                origins,
                authorization: self.target.authorization.clone(),
                accept_invalid_certs: self.target.accept_invalid_certs,
            }),
        }
    }

    /// A request; `Authorization: Basic` is added when `url` is on one of the target's origins
    /// (an `Authorization` the caller sets afterwards with `.headers(map)` replaces it;
    /// `.header(…)` would add a second one).
    pub fn request(&self, method: Method, url: impl AsRef<str>) -> RequestBuilder {
        let url = url.as_ref();
        let builder = self.client.request(method, url);
        match self.authorization_for(url) {
            Some(value) => builder.header(AUTHORIZATION, value),
            None => builder,
        }
    }

    pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// The basic-auth header for `url`, when it is on a target origin (`ws(s)://` counts as
    /// `http(s)://` of the same host and port).
    pub fn authorization_for(&self, url: &str) -> Option<HeaderValue> {
        let value = self.target.authorization.as_ref()?;
        let mut parsed = url::Url::parse(url).ok()?;
        let scheme = match parsed.scheme() {
            "ws" => Some("http"),
            "wss" => Some("https"),
            _ => None,
        };
        if let Some(s) = scheme {
            // Same host and port: only the scheme's name differs.
            let port = parsed.port_or_known_default();
            parsed.set_scheme(s).ok()?;
            if parsed.port_or_known_default() != port {
                parsed.set_port(port).ok()?;
            }
        }
        let origin = parsed.origin();
        self.target.origins.contains(&origin).then(|| value.clone())
    }

    /// Whether certificates are taken as they are (`accept_invalid_certs`).
    pub fn accepts_invalid_certs(&self) -> bool {
        self.target.accept_invalid_certs
    }

    /// The TLS connector for websockets: `None` (tungstenite's default, the webpki roots) unless
    /// invalid certificates are accepted.
    pub fn websocket_connector(&self) -> Option<tokio_tungstenite::Connector> {
        if !self.target.accept_invalid_certs {
            return None;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth();
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(config)))
    }
}

fn parse_origins(urls: &[&str]) -> Vec<url::Origin> {
    urls.iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin())
        .filter(url::Origin::is_tuple)
        .collect()
}

/// `accept_invalid_certs = true`: any certificate is taken (self-signed staging); handshake
/// signatures are still checked, so the connection is still encrypted to whoever answered.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Does `url` ask for basic auth (401 with a `Basic` challenge) when asked without credentials?
/// `Err` says what it answered instead (`answered 200`), or that it did not answer.
pub async fn challenges_basic_auth(url: &str, accept_invalid_certs: bool) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(accept_invalid_certs)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("did not answer ({})", describe_error(url, &e)))?;
    let basic = resp
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .any(|v| {
            v.to_str()
                .is_ok_and(|s| s.trim_start().to_ascii_lowercase().starts_with("basic"))
        });
    if resp.status() == reqwest::StatusCode::UNAUTHORIZED && basic {
        Ok(())
    } else {
        Err(format!(
            "answered {} without a Basic challenge",
            resp.status().as_u16()
        ))
    }
}

/// Whether `error` (or anything it was caused by) is a certificate the client did not trust.
pub fn is_untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(rustls::Error::InvalidCertificate(_)) = e.downcast_ref::<rustls::Error>() {
            return true;
        }
        let text = e.to_string();
        if text.contains("invalid peer certificate")
            || text.contains("UnknownIssuer")
            || text.contains("certificate verify failed")
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// What to say about an untrusted certificate of `url`.
pub fn untrusted_certificate_message(url: &str) -> String {
    let origin = url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_owned());
    format!(
        "the certificate of {origin} is not trusted (self-signed?); set accept_invalid_certs = true \
         under [target] in flows.toml (or STAGING_ACCEPT_INVALID_CERTS=1) if this staging site \
         uses a self-signed certificate"
    )
}

/// A request error in words: the error and its causes (reqwest's own text omits them), or
/// [`untrusted_certificate_message`] for a certificate the client did not trust.
pub fn describe_error(url: &str, error: &reqwest::Error) -> String {
    if is_untrusted_certificate(error) {
        return untrusted_certificate_message(url);
    }
    let mut text = error.to_string();
    let mut next = std::error::Error::source(error);
    while let Some(e) = next {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn auth() -> BasicAuth {
        BasicAuth {
            username: "lab".into(),
            password: Secret {
                value: "lab-password".into(),
                origin: "test".into(),
            },
            sign_in_path: None,
        }
    }

    #[test]
    fn basic_auth_goes_to_the_target_origins_only() {
        let http = Http::new(
            "t",
            &[
                "https://staging.example.com",
                "https://api.example.com:8443/v1",
            ],
            Some(&auth()),
            false,
        );
        let yes = [
            "https://staging.example.com/login",
            "https://staging.example.com:443/x",
            "https://api.example.com:8443/v1/tickets",
            "wss://staging.example.com/app/key",
        ];
        for url in yes {
            assert!(http.authorization_for(url).is_some(), "{url}");
        }
        let no = [
            "http://staging.example.com/login",
            "https://staging.example.com.evil.test/",
            "https://api.example.com/v1",
            "https://mail.example.com/",
            "ws://staging.example.com/app/key",
            "not a url",
        ];
        for url in no {
            assert!(http.authorization_for(url).is_none(), "{url}");
        }
        let value = http
            .authorization_for("https://staging.example.com/")
            .expect("header");
        assert!(value.is_sensitive());
        // base64("lab:lab-password")
        assert_eq!(value.to_str().ok(), Some("Basic bGFiOmxhYi1wYXNzd29yZA=="));
        let later = Http::new("t", &[], Some(&auth()), false).with_origin("http://127.0.0.1:9/");
        assert!(later.authorization_for("http://127.0.0.1:9/up").is_some());
        assert!(Http::default()
            .authorization_for("https://staging.example.com/")
            .is_none());
    }

    #[test]
    fn untrusted_certificate_message_names_the_origin_and_the_setting() {
        let m = untrusted_certificate_message("https://staging.example.com:8443/health?x=1");
        assert!(m.starts_with("the certificate of https://staging.example.com:8443 is not trusted (self-signed?); set accept_invalid_certs = true"), "{m}");
    }
}
