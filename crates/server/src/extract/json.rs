//! JSON request bodies. Malformed JSON answers 400 `invalid_json` with the parse position; a
//! well-formed body of the wrong shape answers 400 `invalid_field` naming the field; a body over
//! the limit 413; a non-JSON content type 415. Unknown fields are ignored.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body deserialized into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The body is read first (within the limit) so that a refused request leaves the
        // connection reusable for the client's next request.
        let content_type = req.headers().get(CONTENT_TYPE).cloned();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is too large",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "could not read the request body",
                )
            }
        })?;
        if let Some(ct) = content_type.as_ref() {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            if !ct.starts_with("application/json") && !ct.contains("+json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("expected `application/json`, got `{ct}`"),
                ));
            }
        }
        parse(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` (empty = `{}`) into `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("malformed JSON: {inner}"),
            )
        } else if path == "." {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                strip_position(&inner.to_string()),
            )
        } else {
            ApiError::invalid_field(&path, strip_position(&inner.to_string()))
        }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// serde_json appends " at line L column C" to data errors; the field path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[test]
    fn errors_name_position_or_field() {
        let e = parse::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(e.code, "invalid_json");
        assert!(e.message.contains("line 1 column"), "{}", e.message);
        let e = parse::<Body>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!(e.code, "invalid_field");
        assert!(e.message.starts_with("`name`"), "{}", e.message);
        let e = parse::<Body>(br#"{"name": "x", "inner": {"flag": "yes"}}"#).unwrap_err();
        assert!(e.message.starts_with("`inner.flag`"), "{}", e.message);
        let e = parse::<Body>(b"{}").unwrap_err();
        assert!(e.message.contains("missing field `name`"), "{}", e.message);
        assert!(parse::<Body>(br#"{"name": "x", "unknown": [1]}"#).is_ok());
    }
}
