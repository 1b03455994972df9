//! RFC 7807 problem details as Payroc sends them.

use std::fmt;

use payauth_core::HttpResponse;
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::headers::ResponseHeaders;

/// At most this many `errors[]` entries are kept: enough to show every field of a request.
const MAX_ERRORS: usize = 32;

/// What a problem is about, from the fragment of its `type` URI
/// (`https://docs.payroc.com/api/errors#idempotency-key-in-use`). Branch on this, not on
/// `title` or `detail`, which are prose and may change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// `#bad-request`: validation failed; see [`Problem::errors`].
    BadRequest,
    /// `#not-authorized`: the API key or the Bearer token was refused.
    NotAuthorized,
    /// `#forbidden`: authenticated, but not allowed to act on this resource.
    Forbidden,
    /// `#not-found`.
    NotFound,
    /// `#not-acceptable`.
    NotAcceptable,
    /// `#conflict`.
    Conflict,
    /// `#unsupported-media-type`.
    UnsupportedMediaType,
    /// `#idempotency-key-missing`: the request carried no `Idempotency-Key`.
    IdempotencyKeyMissing,
    /// `#idempotency-key-in-use`: the key was already used for a different request. Never
    /// retried with that key; a new request needs a new key.
    IdempotencyKeyInUse,
    /// `#internal-server-error`.
    InternalServerError,
    /// Any other fragment, or the whole `type` when it has none (cut to 200 characters).
    Unknown(String),
}

impl ProblemKind {
    fn from_type(type_uri: Option<&str>) -> Self {
        let Some(type_uri) = type_uri else {
            return ProblemKind::Unknown(String::new());
        };
        let fragment = type_uri.rsplit_once('#').map_or(type_uri, |(_, f)| f);
        match fragment {
            "bad-request" => ProblemKind::BadRequest,
            "not-authorized" | "unauthorized" => ProblemKind::NotAuthorized,
            "forbidden" => ProblemKind::Forbidden,
            "not-found" => ProblemKind::NotFound,
            "not-acceptable" => ProblemKind::NotAcceptable,
            "conflict" => ProblemKind::Conflict,
            "unsupported-media-type" => ProblemKind::UnsupportedMediaType,
            "idempotency-key-missing" => ProblemKind::IdempotencyKeyMissing,
            "idempotency-key-in-use" => ProblemKind::IdempotencyKeyInUse,
            "internal-server-error" => ProblemKind::InternalServerError,
            other => ProblemKind::Unknown(cut(other)),
        }
    }
}

/// One entry of a problem's `errors` array: which parameter and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProblemError {
    /// The request parameter (`libVersion`, `secureTokenId`, ...).
    pub parameter: Option<String>,
    /// A short reason (`Invalid format`).
    pub detail: Option<String>,
    /// A sentence for people (`The 'scenario' field is required`).
    pub message: Option<String>,
}

/// A link from a problem to a related resource (a 409 points at the original request).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Link {
    /// The relation.
    pub rel: Option<String>,
    /// The HTTP method to follow it with.
    pub method: Option<String>,
    /// The target.
    pub href: Option<String>,
}

/// RFC 7807 problem details from Payroc. Unknown members are ignored; every text is cut to 200
/// characters and at most 32 `errors` are kept, so a hostile or broken body stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub(crate) kind: ProblemKind,
    pub(crate) type_uri: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) status: u16,
    pub(crate) status_member: Option<u16>,
    pub(crate) detail: Option<String>,
    pub(crate) instance: Option<String>,
    pub(crate) errors: Vec<ProblemError>,
    pub(crate) resource: Option<String>,
    pub(crate) link: Option<Link>,
    pub(crate) headers: ResponseHeaders,
}

impl Problem {
    /// What the problem is about, from the `type` fragment.
    pub fn kind(&self) -> &ProblemKind {
        &self.kind
    }

    /// The `type` URI.
    pub fn type_uri(&self) -> Option<&str> {
        self.type_uri.as_deref()
    }

    /// The `title`.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The HTTP status of the response. Retry decisions use this one.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body's `status` member (a number, or a string of digits), if any. It normally
    /// repeats [`status`](Self::status); when it does not (a proxy rewrote the status, or the
    /// service reports an upstream failure), both are kept and shown.
    pub fn status_member(&self) -> Option<u16> {
        self.status_member
    }

    /// The `location` and request-id headers of the response.
    pub fn headers(&self) -> &ResponseHeaders {
        &self.headers
    }

    /// The `detail`.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The `instance` (the URL the problem occurred on).
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// The `errors` array: one entry per parameter that failed validation.
    pub fn errors(&self) -> &[ProblemError] {
        &self.errors
    }

    /// The `resource` (403, 404).
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The `link` (409).
    pub fn link(&self) -> Option<&Link> {
        self.link.as_ref()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payroc problem (HTTP {}", self.status)?;
        if let Some(member) = self.status_member.filter(|m| *m != self.status) {
            write!(f, ", body status {member}")?;
        }
        match &self.kind {
            ProblemKind::Unknown(fragment) if fragment.is_empty() => {}
            kind => write!(f, ", {kind:?}")?,
        }
        f.write_str(")")?;
        if let Some(title) = &self.title {
            write!(f, ": {title}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        for error in &self.errors {
            let parameter = error.parameter.as_deref().unwrap_or("?");
            let text = error.message.as_deref().or(error.detail.as_deref());
            write!(f, "; {parameter}: {}", text.unwrap_or("invalid"))?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct WireProblem {
    #[serde(rename = "type")]
    type_uri: Option<Value>,
    title: Option<Value>,
    status: Option<Value>,
    detail: Option<Value>,
    instance: Option<Value>,
    resource: Option<Value>,
    errors: Option<Value>,
    link: Option<Value>,
}

/// Problem details when the body is a JSON object with at least a `type`, `title` or `detail`,
/// whatever the `Content-Type` (servers and proxies mislabel them); otherwise
/// [`Error::Forbidden`] for a 403 (Payroc's SDKs type it so too) and
/// [`Error::UnexpectedResponse`] for any other status, each with an excerpt of the body.
pub(crate) fn parse_problem(response: &HttpResponse) -> Error {
    let status = response.status();
    let headers = ResponseHeaders::from_response(response);
    let parsed = serde_json::from_slice::<WireProblem>(response.body())
        .ok()
        .filter(|w| w.type_uri.is_some() || w.title.is_some() || w.detail.is_some());
    let Some(wire) = parsed else {
        let excerpt = response.excerpt();
        if status == 403 {
            return Error::Forbidden { excerpt, headers };
        }
        return Error::UnexpectedResponse {
            status,
            excerpt,
            headers,
        };
    };
    let status_member = match &wire.status {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let type_uri = text(response, wire.type_uri.as_ref());
    let errors = match &wire.errors {
        Some(Value::Array(entries)) => entries
            .iter()
            .filter(|e| e.is_object())
            .take(MAX_ERRORS)
            .map(|e| ProblemError {
                parameter: text(response, e.get("parameter")),
                detail: text(response, e.get("detail")),
                message: text(response, e.get("message")),
            })
            .collect(),
        _ => Vec::new(),
    };
    let link = wire.link.as_ref().filter(|l| l.is_object()).map(|l| Link {
        rel: text(response, l.get("rel")),
        method: text(response, l.get("method")),
        href: text(response, l.get("href")),
    });
    Problem {
        kind: ProblemKind::from_type(type_uri.as_deref()),
        type_uri,
        title: text(response, wire.title.as_ref()),
        status,
        status_member,
        detail: text(response, wire.detail.as_ref()),
        instance: text(response, wire.instance.as_ref()),
        errors,
        resource: text(response, wire.resource.as_ref()),
        link,
        headers,
    }
    .into()
}

/// A member as bounded text: strings as they are, numbers and booleans printed, anything else
/// (objects, arrays, null) dropped.
fn text(response: &HttpResponse, value: Option<&Value>) -> Option<String> {
    match value? {
        // Server text: scrubbed of the request's secrets, then bounded.
        Value::String(s) => Some(response.server_text(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn cut(s: &str) -> String {
    payauth_core::excerpt(s.as_bytes(), payauth_core::EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use payauth_core::EXCERPT_CHARS;

    fn parse(status: u16, body: &str) -> Error {
        parse_problem(&HttpResponse::from_parts(status, vec![], body.into()))
    }

    fn problem(status: u16, body: &str) -> Problem {
        match parse(status, body) {
            Error::Problem(p) => *p,
            other => panic!("not a problem: {other:?}"),
        }
    }

    #[test]
    fn the_vendor_example() {
        let p = problem(
            400,
            r#"{"type": "https://docs.payroc.com/api/errors#bad-request", "title": "Bad request", "status": 400,
 "detail": "One or more validation errors occurred, see error section for more info",
 "instance": "https://api.uat.payroc.com/v1/pricing-intents",
 "errors": [{"parameter": "country", "detail": "Invalid format", "message": "The 'country' field is required"}]}"#,
        );
        assert_eq!(p.kind(), &ProblemKind::BadRequest);
        assert_eq!(p.status(), 400);
        assert_eq!(p.title(), Some("Bad request"));
        assert_eq!(
            p.instance(),
            Some("https://api.uat.payroc.com/v1/pricing-intents")
        );
        assert_eq!(
            p.errors(),
            [ProblemError {
                parameter: Some("country".into()),
                detail: Some("Invalid format".into()),
                message: Some("The 'country' field is required".into()),
            }]
        );
        let text = Error::from(p).to_string();
        assert!(
            text.contains("country: The 'country' field is required"),
            "{text}"
        );
    }

    #[test]
    fn conflict_with_link_and_unknown_members() {
        let p = problem(
            409,
            r#"{"type":"https://docs.payroc.com/api/errors#idempotency-key-in-use","title":"Conflict",
                "status":"409","link":{"rel":"previous","method":"get","href":"/v1/x/1","extra":1},
                "future":{"a":[1,2]},"errors":[{"message":"in use"}, 7]}"#,
        );
        assert_eq!(p.kind(), &ProblemKind::IdempotencyKeyInUse);
        let link = p.link().unwrap();
        assert_eq!(link.href.as_deref(), Some("/v1/x/1"));
        assert_eq!(link.method.as_deref(), Some("get"));
        assert_eq!(p.errors().len(), 1);
        assert!(!Error::from(p).is_retryable());
    }

    #[test]
    fn a_status_member_that_disagrees_is_kept_and_shown() {
        let p = problem(
            502,
            r#"{"type":"https://docs.payroc.com/api/errors#internal-server-error","title":"Error","status":500}"#,
        );
        assert_eq!(p.status(), 502);
        assert_eq!(p.status_member(), Some(500));
        let text = Error::from(p).to_string();
        assert!(text.contains("HTTP 502, body status 500"), "{text}");
        let same = problem(400, r#"{"title":"Bad request","status":"400"}"#);
        assert_eq!(same.status_member(), Some(400));
        assert!(!Error::from(same).to_string().contains("body status"));
    }

    #[test]
    fn a_403_that_is_not_a_problem_is_forbidden() {
        // The JS SDK's fixture (tests/wire/hostedFields.test.ts) answers 403 with this body
        // and expects a ForbiddenError.
        let response = HttpResponse::from_parts(
            403,
            vec![("X-Request-Id".into(), "req-9".into())],
            br#"{"key":"value"}"#.to_vec(),
        );
        match parse_problem(&response) {
            Error::Forbidden { excerpt, headers } => {
                assert_eq!(excerpt, r#"{"key":"value"}"#);
                assert_eq!(headers.request_id(), Some("req-9"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!parse(403, "<html>denied</html>").is_retryable());
    }

    #[test]
    fn kinds_from_fragments() {
        let kind = |t: &str| ProblemKind::from_type(Some(t));
        assert_eq!(
            kind("https://x/errors#not-authorized"),
            ProblemKind::NotAuthorized
        );
        assert_eq!(kind("https://x/errors#forbidden"), ProblemKind::Forbidden);
        assert_eq!(
            kind("https://x/errors#idempotency-key-missing"),
            ProblemKind::IdempotencyKeyMissing
        );
        assert_eq!(
            kind("https://x/errors#new-thing"),
            ProblemKind::Unknown("new-thing".into())
        );
        assert_eq!(
            ProblemKind::from_type(None),
            ProblemKind::Unknown(String::new())
        );
    }

    #[test]
    fn other_bodies_keep_status_and_a_bounded_excerpt() {
        let err = parse(502, "<html><h1>502 Bad Gateway</h1></html>");
        assert!(
            matches!(&err, Error::UnexpectedResponse { status: 502, excerpt, .. } if excerpt.contains("Bad Gateway"))
        );
        assert!(err.is_retryable());
        let long = format!(r#"{{"title":"{}"}}"#, "x".repeat(10_000));
        let p = problem(500, &long);
        assert_eq!(p.title().unwrap().chars().count(), EXCERPT_CHARS + 1);
        assert!(matches!(
            parse(404, "[1,2]"),
            Error::UnexpectedResponse { status: 404, .. }
        ));
        assert!(matches!(
            parse(400, "{}"),
            Error::UnexpectedResponse { status: 400, .. }
        ));
    }
}
