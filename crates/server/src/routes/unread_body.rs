//! Connections whose request body was never read. A handler or a guard that answers before
//! reading the body (a 401 from the authorization table, say) leaves the rest of the body on the
//! wire; hyper then drains what has already arrived or closes the connection, but only once it
//! notices, which can be after the response head went out without `Connection: close`. A client
//! that reuses the connection for its next request then sees it closed under it. This module
//! watches the body: what was left unread is drained if it is small (`MAX_DRAIN_BYTES`) and comes
//! at once (`DRAIN_WAIT`), so the connection can carry the next request; otherwise the response
//! itself says `Connection: close`.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;

/// Most bytes of an unread body drained so that the connection can be kept.
const MAX_DRAIN_BYTES: usize = 64 * 1024;
/// Longest wait for the rest of an unread body before giving up on the connection.
const DRAIN_WAIT: Duration = Duration::from_millis(250);

/// What the edge keeps of a watched request body.
#[derive(Default)]
struct Shared {
    /// Set once the body was read to its end.
    done: AtomicBool,
    /// The body, handed back if it was dropped before its end.
    leftover: Mutex<Option<Body>>,
}

/// Whether a watched request body was read to its end.
#[derive(Default)]
pub struct ReadToEnd(Option<Arc<Shared>>);

impl ReadToEnd {
    /// Watches `req`'s body, if it has one.
    pub fn watch(req: Request) -> (Request, ReadToEnd) {
        if req.body().is_end_stream() {
            return (req, ReadToEnd(None));
        }
        let shared = Arc::new(Shared::default());
        let watched = req.map(|inner| {
            Body::new(Watched {
                inner: Some(inner),
                shared: shared.clone(),
            })
        });
        (watched, ReadToEnd(Some(shared)))
    }

    /// Drains what is left of the body if it is small and comes at once; otherwise marks `res`
    /// as the connection's last.
    pub async fn close_if_unread(&self, mut res: Response) -> Response {
        let Some(shared) = &self.0 else {
            return res;
        };
        if shared.done.load(Ordering::Acquire) {
            return res;
        }
        let leftover = shared.leftover.lock().ok().and_then(|mut l| l.take());
        let drained = match leftover {
            Some(body) => tokio::time::timeout(DRAIN_WAIT, drain(body))
                .await
                .unwrap_or(false),
            None => false,
        };
        if !drained {
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

/// Reads `body` to its end, unless it is over `MAX_DRAIN_BYTES` or fails.
async fn drain(mut body: Body) -> bool {
    let mut seen = 0;
    loop {
        match body.frame().await {
            None => return true,
            Some(Ok(frame)) => {
                seen += frame.data_ref().map_or(0, Bytes::len);
                if seen > MAX_DRAIN_BYTES {
                    return false;
                }
            }
            Some(Err(_)) => return false,
        }
    }
}

/// A request body that records reaching its end, and hands itself back if dropped before it.
struct Watched {
    inner: Option<Body>,
    shared: Arc<Shared>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => inner.is_end_stream(),
            _ => false,
        };
        if ended {
            self.shared.done.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if !self.shared.done.load(Ordering::Acquire)
            && let Ok(mut slot) = self.shared.leftover.lock()
        {
            *slot = self.inner.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn request(body: &'static str) -> Request {
        Request::builder().uri("/x").body(Body::from(body)).unwrap()
    }

    async fn closes(watch: &ReadToEnd) -> bool {
        watch
            .close_if_unread(Response::new(Body::empty()))
            .await
            .headers()
            .get(header::CONNECTION)
            .is_some_and(|v| v == "close")
    }

    #[tokio::test]
    async fn a_small_unread_body_is_drained() {
        let (req, watch) = ReadToEnd::watch(request("{\"name\":\"n\"}"));
        drop(req);
        assert!(!closes(&watch).await);
    }

    #[tokio::test]
    async fn an_unread_body_that_does_not_come_closes_the_connection() {
        let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("{"))]);
        let body = Body::from_stream(first.chain(futures_util::stream::pending()));
        let (req, watch) = ReadToEnd::watch(Request::new(body));
        drop(req);
        assert!(closes(&watch).await);
    }

    #[tokio::test]
    async fn an_unread_body_over_the_drain_limit_closes_the_connection() {
        let big: &'static str = Box::leak("x".repeat(MAX_DRAIN_BYTES + 1).into_boxed_str());
        let (req, watch) = ReadToEnd::watch(request(big));
        drop(req);
        assert!(closes(&watch).await);
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_keeps_it() {
        let (req, watch) = ReadToEnd::watch(request("{\"name\":\"n\"}"));
        let bytes = axum::body::to_bytes(req.into_body(), 1024).await.unwrap();
        assert_eq!(&bytes[..], b"{\"name\":\"n\"}");
        assert!(!closes(&watch).await);
    }

    #[tokio::test]
    async fn no_body_keeps_it() {
        let (req, watch) = ReadToEnd::watch(request(""));
        drop(req);
        assert!(!closes(&watch).await);
    }

    #[tokio::test]
    async fn a_body_read_in_part_whose_rest_is_late_closes_it() {
        let chunks = ["{\"name\":", "\"n\"}"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c)));
        let rest = futures_util::stream::pending();
        let body = Body::from_stream(futures_util::stream::iter(chunks).chain(rest));
        let (req, watch) = ReadToEnd::watch(Request::new(body));
        let mut body = req.into_body();
        let first = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        assert!(first.is_some());
        drop(body);
        assert!(closes(&watch).await);
    }
}
