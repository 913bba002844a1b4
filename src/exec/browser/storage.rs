//! Cookies and localStorage of a session: the `Cookie` header an `http` step sends as a user,
//! and saving and restoring a signed-in session.

use super::*;

impl BrowserSession {
    /// The session's cookies as a `Cookie:` header value for `url`'s host.
    pub async fn cookie_header(&self) -> Result<String, BrowserError> {
        let v = self.cmd(http::Method::GET, "cookie", None).await?;
        let pairs: Vec<String> = v
            .as_array()
            .map(|cookies| {
                cookies
                    .iter()
                    .filter_map(|c| {
                        Some(format!(
                            "{}={}",
                            c.get("name")?.as_str()?,
                            c.get("value")?.as_str()?
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(pairs.join("; "))
    }

    /// Every cookie of the current page (WebDriver Get All Cookies), as the driver returns them.
    pub async fn all_cookies(&self) -> Result<Vec<Value>, BrowserError> {
        let v = self.cmd(http::Method::GET, "cookie", None).await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Adds one cookie for the current page's domain (WebDriver Add Cookie).
    pub async fn add_cookie(&self, cookie: Value) -> Result<(), BrowserError> {
        self.cmd(
            http::Method::POST,
            "cookie",
            Some(json!({ "cookie": cookie })),
        )
        .await?;
        Ok(())
    }

    /// Deletes every cookie of the current page's domain.
    pub async fn delete_all_cookies(&self) -> Result<(), BrowserError> {
        self.cmd(http::Method::DELETE, "cookie", None).await?;
        Ok(())
    }

    /// The page's URL and its origin's localStorage as key → value (one round trip).
    pub async fn url_and_local_storage(
        &self,
    ) -> Result<(String, Vec<(String, String)>), BrowserError> {
        let v = self
            .execute_value(
                "const o = []; try { for (let i = 0; i < localStorage.length; i++) { \
                 const k = localStorage.key(i); o.push([k, localStorage.getItem(k)]); } } \
                 catch (e) {} return [location.href, o];",
                vec![],
            )
            .await?;
        let url = v
            .get(0)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let items = v
            .get(1)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|kv| {
                        Some((
                            kv.get(0)?.as_str()?.to_owned(),
                            kv.get(1)?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((url, items))
    }

    /// Replaces the current origin's localStorage with `items` (one round trip).
    pub async fn set_local_storage(&self, items: &[(String, String)]) -> Result<(), BrowserError> {
        let pairs: Vec<Value> = items.iter().map(|(k, v)| json!([k, v])).collect();
        self.execute_value(
            "localStorage.clear(); for (const [k, v] of arguments[0]) localStorage.setItem(k, v);",
            vec![Value::Array(pairs)],
        )
        .await?;
        Ok(())
    }
}
