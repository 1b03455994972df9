//! The response headers a caller may need after the fact: where the created resource lives and
//! the ids Payroc support asks for.

/// Headers kept from a Payroc response: `location` and the request and correlation ids
/// (`x-request-id`, `request-id`, `x-correlation-id`, `correlation-id`, `traceparent`,
/// `cf-ray`). Each value is cut to 200 characters; nothing else is kept, so no credential a
/// proxy might echo in another header travels on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseHeaders(Vec<(&'static str, String)>);

/// The names kept, lowercase, in the order [`ResponseHeaders::request_id`] prefers them.
const KEPT: [&str; 7] = [
    "location",
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "correlation-id",
    "traceparent",
    "cf-ray",
];

impl ResponseHeaders {
    pub(crate) fn from_response(response: &payauth_core::HttpResponse) -> Self {
        ResponseHeaders(
            KEPT.iter()
                .filter_map(|&name| {
                    let value = response.header(name)?;
                    let value = value
                        .chars()
                        .take(payauth_core::EXCERPT_CHARS)
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect();
                    Some((name, value))
                })
                .collect(),
        )
    }

    /// A kept header's value (`name` in any case); `None` for a header not kept or not sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `location` header.
    pub fn location(&self) -> Option<&str> {
        self.get("location")
    }

    /// The first of `x-request-id`, `request-id`, `x-correlation-id`, `correlation-id`: quote
    /// it to Payroc support.
    pub fn request_id(&self) -> Option<&str> {
        KEPT[1..5].iter().find_map(|name| self.get(name))
    }

    /// Every kept header, as `(lowercase name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(n, v)| (*n, v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payauth_core::HttpResponse;

    #[test]
    fn only_the_listed_headers_are_kept() {
        let response = HttpResponse::from_parts(
            201,
            vec![
                ("Location".into(), "/v1/s/1".into()),
                ("X-Correlation-Id".into(), "corr-1".into()),
                ("Set-Cookie".into(), "session=SECRET".into()),
            ],
            Vec::new(),
        );
        let headers = ResponseHeaders::from_response(&response);
        assert_eq!(headers.location(), Some("/v1/s/1"));
        assert_eq!(headers.request_id(), Some("corr-1"));
        assert_eq!(headers.get("set-cookie"), None);
        assert!(!format!("{headers:?}").contains("SECRET"));
        assert_eq!(headers.iter().count(), 2);
    }
}
