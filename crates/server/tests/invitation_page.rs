//! The invitation page through the real router in host mode: the link opens at the platform
//! zone's own host and at its path on the main host, the form posts back to the host it was
//! opened at (relative action) with its CSRF cookie, and the account it creates spends the
//! invitation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    cookie: Option<String>,
    text: String,
}

async fn send(app: &TestApp, req: Request<Body>) -> Page {
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        cookie,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn hidden(page: &str, name: &str) -> String {
    let start = page.find(&format!("name=\"{name}\" value=\"")).unwrap();
    let rest = &page[start + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A new organization and an invitation to it: (platform zone id, token).
async fn invitation(app: &TestApp, email: &str) -> (String, String) {
    let org = app
        .admin(
            Method::POST,
            "/organizations",
            Some(json!({"name": "Hosted"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    let inv = app
        .admin(
            Method::POST,
            &format!("/organizations/{}/invitations", org["id"].as_str().unwrap()),
            Some(json!({"email": email, "role": "org_member"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    (
        org["zone_id"].as_str().unwrap().to_owned(),
        inv["token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn host_and_path_addressing_both_open_the_page_and_create_the_account() {
    let app = TestApp::host_mode("zones.test").await;
    let (zone, token) = invitation(&app, "hosted@example.com").await;
    let host = format!("{zone}.zones.test");

    let by_path = Request::get(format!("/z/{zone}/invitation?token={token}"))
        .body(Body::empty())
        .unwrap();
    let by_path = send(&app, by_path).await;
    assert_eq!(by_path.status, StatusCode::OK, "{}", by_path.text);
    assert!(by_path.text.contains("action=\"invitation\""));

    let get = Request::get(format!("/invitation?token={token}"))
        .header(header::HOST, &host)
        .body(Body::empty())
        .unwrap();
    let page = send(&app, get).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("hosted@example.com") && page.text.contains("org_member"));
    let cookie = page.cookie.expect("the CSRF cookie");
    assert!(cookie.starts_with(&format!("lk_invite_{zone}=")));

    let form = format!(
        "token={token}&csrf={}&password=long+enough+pw&confirm=long+enough+pw",
        hidden(&page.text, "csrf")
    );
    let post = |cookie: Option<&str>| {
        let mut req = Request::post("/invitation")
            .header(header::HOST, &host)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        req.body(Body::from(form.clone())).unwrap()
    };
    assert_eq!(send(&app, post(None)).await.status, StatusCode::FORBIDDEN);
    let done = send(&app, post(Some(&cookie))).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("Your account is ready"));

    let public = app
        .call(Method::GET, &format!("/invitations/{token}"), None, None)
        .await;
    assert_eq!(public.json["status"], "accepted");
    let again = send(&app, post(Some(&cookie))).await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.text);
}
