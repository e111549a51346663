//! The browser flow through the real router, on both back ends: authorize → sign-up page →
//! consent → code → tokens (PKCE, single use, exact redirect), refresh rotation with reuse
//! detection, userinfo, CSRF and redirect-URI protections.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Reply, TestApp};
use serde_json::{Value, json};

const VERIFIER: &str = "dBjftJeZ4CVP-mJ0dBjftJeZ4CVP-mJ0dBjftJeZ4CVP";
const REDIRECT: &str = "http://127.0.0.1:4321/callback";

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(latchkey_crypto::keyed_hash::sha256(VERIFIER.as_bytes()))
}

struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: Vec::new(),
        }
    }

    async fn send(&mut self, method: Method, url: &str, form: Option<String>) -> Reply {
        let path = url.strip_prefix("http://lk.test").unwrap_or(url);
        let mut req = Request::builder().method(method).uri(path);
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            req = req.header("cookie", cookie);
        }
        let body = match form {
            Some(f) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                Body::from(f)
            }
            None => Body::empty(),
        };
        let r = self.app.raw(req.body(body).unwrap()).await;
        for c in r.headers.get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        r
    }
}

fn location(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "expected a redirect");
    r.headers["location"].to_str().unwrap().to_owned()
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Reads a hidden form field from a page's HTML.
async fn field(app: &TestApp, url: &str, cookies: &[(String, String)], name: &str) -> String {
    let path = url.strip_prefix("http://lk.test").unwrap_or(url);
    let cookie = cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let res = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let html = String::from_utf8(
        http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A zone open for sign-up, with a DCR client (public) and a resource.
async fn setup(app: &TestApp) -> (String, String) {
    let zone = app
        .create(
            "/zones",
            json!({"name": "login", "requires_invitation": false}),
        )
        .await;
    app.create(
        &format!("/zones/{zone}/resources"),
        json!({"identifier": "https://mcp.test/mcp", "name": "MCP", "scopes": ["tools"]}),
    )
    .await;
    let reg = Request::post(format!("/z/{zone}/oauth/2/registration"))
        .header("content-type", "application/json")
        .body(Body::from(json!({"client_name": "Agent", "redirect_uris": ["http://127.0.0.1/callback"], "grant_types": ["authorization_code", "refresh_token"]}).to_string()))
        .unwrap();
    let client = app.raw(reg).await.json["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (zone, client)
}

fn authorize_url(zone: &str, client: &str, extra: &str) -> String {
    format!(
        "/z/{zone}/oauth/2/authorize?response_type=code&client_id={client}&redirect_uri={}&state=xyz&scope=openid%20tools&resource=https%3A%2F%2Fmcp.test%2Fmcp&code_challenge={}&code_challenge_method=S256&nonce=n1{extra}",
        urlencoding(REDIRECT),
        challenge()
    )
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Signs up in a fresh browser, consents, and returns (browser, code redirect).
async fn sign_in<'a>(
    app: &'a TestApp,
    zone: &str,
    client: &str,
    email: &str,
) -> (Browser<'a>, String) {
    let mut b = Browser::new(app);
    let login = location(
        &b.send(Method::GET, &authorize_url(zone, client, ""), None)
            .await,
    );
    assert!(login.contains("/login?request="), "{login}");
    let request = param(&format!("http://lk.test{login}"), "request").unwrap();
    let page = b.send(Method::GET, &login, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = field(app, &login, &b.cookies, "csrf").await;
    let form = format!(
        "request={request}&csrf={csrf}&email={}&password=correct-horse&intent=signup",
        urlencoding(email)
    );
    let consent = b
        .send(Method::POST, &format!("/z/{zone}/login"), Some(form))
        .await;
    assert_eq!(
        consent.status,
        StatusCode::OK,
        "the consent page follows sign-up"
    );
    let done = b
        .send(
            Method::POST,
            &format!("/z/{zone}/login/consent"),
            Some(format!("request={request}&csrf={csrf}&decision=allow")),
        )
        .await;
    let back = location(&done);
    (b, back)
}

async fn token(app: &TestApp, zone: &str, body: String) -> Reply {
    let req = Request::post(format!("/z/{zone}/oauth/2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    app.raw(req).await
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

both_backends!(
    authorization_code_with_pkce_end_to_end,
    |app: TestApp| async move {
        let (zone, client) = setup(&app).await;
        let (mut browser, back) = sign_in(&app, &zone, &client, "ann@example.com").await;
        assert!(
            back.starts_with(REDIRECT),
            "any loopback port is accepted: {back}"
        );
        assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
        assert_eq!(
            param(&back, "iss").unwrap(),
            format!("http://lk.test/z/{zone}")
        );
        let code = param(&back, "code").unwrap();
        let redeem = format!(
            "grant_type=authorization_code&code={code}&client_id={}&redirect_uri={}&code_verifier={VERIFIER}",
            urlencoding(&client),
            urlencoding(REDIRECT)
        );
        let t = token(&app, &zone, redeem.clone()).await;
        assert_eq!(t.status, StatusCode::OK, "{}", t.json);
        let access = t.json["access_token"].as_str().unwrap();
        let c = claims(access);
        assert_eq!(
            (
                c["aud"].as_str(),
                c["sub_profile"].as_str(),
                c["scope"].as_str()
            ),
            (
                Some("https://mcp.test/mcp"),
                Some("user"),
                Some("openid tools")
            )
        );
        let id = claims(t.json["id_token"].as_str().unwrap());
        assert_eq!(
            (
                id["aud"].as_str(),
                id["nonce"].as_str(),
                id["email"].as_str()
            ),
            (Some(client.as_str()), Some("n1"), Some("ann@example.com"))
        );

        let info = app
            .raw(
                Request::get(format!("/z/{zone}/openidconnect/userinfo"))
                    .header("authorization", format!("Bearer {access}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            (info.json["sub"].as_str(), info.json["email"].as_str()),
            (c["sub"].as_str(), Some("ann@example.com"))
        );
        let bad = app
            .raw(
                Request::get(format!("/z/{zone}/openidconnect/userinfo"))
                    .header("authorization", "Bearer nope")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert!(
            bad.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );

        // Refresh rotates; the old token then fails and takes the whole family with it.
        let r1 = t.json["refresh_token"].as_str().unwrap().to_owned();
        let refresh = |rt: &str| {
            format!(
                "grant_type=refresh_token&refresh_token={rt}&client_id={}",
                urlencoding(&client)
            )
        };
        let t2 = token(&app, &zone, refresh(&r1)).await;
        assert_eq!(t2.status, StatusCode::OK, "{}", t2.json);
        let r2 = t2.json["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(r1, r2);
        assert_eq!(
            token(&app, &zone, refresh(&r1)).await.json["error"],
            "invalid_grant",
            "reuse is detected"
        );
        assert_eq!(
            token(&app, &zone, refresh(&r2)).await.json["error"],
            "invalid_grant",
            "the family is revoked"
        );

        // A replayed code fails.
        assert_eq!(
            token(&app, &zone, redeem).await.json["error"],
            "invalid_grant"
        );

        // Signed in already: the next authorization needs no page at all (consent remembered).
        let again = location(
            &browser
                .send(Method::GET, &authorize_url(&zone, &client, ""), None)
                .await,
        );
        assert!(
            again.starts_with(REDIRECT) && param(&again, "code").is_some(),
            "{again}"
        );

        // The records are visible through the management API.
        let users = app
            .admin(Method::GET, &format!("/zones/{zone}/users"), None)
            .await
            .json;
        assert_eq!(users["items"][0]["email"], "ann@example.com");
        let sessions = app
            .admin(Method::GET, &format!("/zones/{zone}/sessions"), None)
            .await
            .json;
        assert!(
            !sessions["items"].as_array().unwrap().is_empty(),
            "token sessions under the web session"
        );
        assert!(sessions["items"][0]["parent_id"].is_string());
    }
);

both_backends!(code_exchange_rejects_tampering, |app: TestApp| async move {
    let (zone, client) = setup(&app).await;
    let (_, back) = sign_in(&app, &zone, &client, "bob@example.com").await;
    let code = param(&back, "code").unwrap();
    let base = |verifier: &str, redirect: &str| {
        format!(
            "grant_type=authorization_code&code={code}&client_id={}&redirect_uri={}&code_verifier={verifier}",
            urlencoding(&client),
            urlencoding(redirect)
        )
    };
    assert_eq!(
        token(
            &app,
            &zone,
            base("wrong-verifier-wrong-verifier-wrong-verifier-x", REDIRECT)
        )
        .await
        .json["error"],
        "invalid_grant"
    );
    // The failed attempt spent the code: single use holds even after a PKCE failure.
    assert_eq!(
        token(&app, &zone, base(VERIFIER, REDIRECT)).await.json["error"],
        "invalid_grant"
    );
    let (_, back) = sign_in(&app, &zone, &client, "carol@example.com").await;
    let code = param(&back, "code").unwrap();
    let other_redirect = format!(
        "grant_type=authorization_code&code={code}&client_id={}&redirect_uri={}&code_verifier={VERIFIER}",
        urlencoding(&client),
        urlencoding("http://127.0.0.1:9/other")
    );
    assert_eq!(
        token(&app, &zone, other_redirect).await.json["error"],
        "invalid_grant"
    );
    let (_, back) = sign_in(&app, &zone, &client, "dan@example.com").await;
    let code = param(&back, "code").unwrap();
    let no_verifier = format!(
        "grant_type=authorization_code&code={code}&client_id={}&redirect_uri={}",
        urlencoding(&client),
        urlencoding(REDIRECT)
    );
    assert_eq!(
        token(&app, &zone, no_verifier).await.json["error"],
        "invalid_grant"
    );
});

both_backends!(
    authorize_validates_before_redirecting,
    |app: TestApp| async move {
        let (zone, client) = setup(&app).await;
        let mut b = Browser::new(&app);
        // Unknown client or unregistered redirect: an error page, never a redirect.
        for url in [
            format!(
                "/z/{zone}/oauth/2/authorize?response_type=code&client_id=ua:nope&redirect_uri={}",
                urlencoding(REDIRECT)
            ),
            format!(
                "/z/{zone}/oauth/2/authorize?response_type=code&client_id={client}&redirect_uri={}",
                urlencoding("https://evil.example/cb")
            ),
            format!(
                "/z/{zone}/oauth/2/authorize?response_type=code&client_id={client}&redirect_uri={}",
                urlencoding("http://127.0.0.1.evil.example/callback")
            ),
        ] {
            let r = b.send(Method::GET, &url, None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}");
            assert!(!r.headers.contains_key("location"));
        }
        // Valid client and redirect: errors go back with state and iss.
        let no_pkce = format!(
            "/z/{zone}/oauth/2/authorize?response_type=code&client_id={client}&redirect_uri={}&state=s1",
            urlencoding(REDIRECT)
        );
        let back = location(&b.send(Method::GET, &no_pkce, None).await);
        assert_eq!(
            (
                param(&back, "error").as_deref(),
                param(&back, "state").as_deref()
            ),
            (Some("invalid_request"), Some("s1"))
        );
        let bad_resource = authorize_url(&zone, &client, "&resource=https%3A%2F%2Fnowhere.test");
        assert_eq!(
            param(
                &location(&b.send(Method::GET, &bad_resource, None).await),
                "error"
            )
            .as_deref(),
            Some("invalid_target")
        );
        let none = authorize_url(&zone, &client, "&prompt=none");
        assert_eq!(
            param(&location(&b.send(Method::GET, &none, None).await), "error").as_deref(),
            Some("login_required")
        );
    }
);

both_backends!(
    login_form_is_csrf_protected_and_denial_is_reported,
    |app: TestApp| async move {
        let (zone, client) = setup(&app).await;
        let mut b = Browser::new(&app);
        let login = location(
            &b.send(Method::GET, &authorize_url(&zone, &client, ""), None)
                .await,
        );
        let request = param(&format!("http://lk.test{login}"), "request").unwrap();
        b.send(Method::GET, &login, None).await;
        let csrf = field(&app, &login, &b.cookies, "csrf").await;
        let forged = format!(
            "request={request}&csrf=forged&email=eve%40example.com&password=whatever123&intent=signup"
        );
        assert_eq!(
            b.send(Method::POST, &format!("/z/{zone}/login"), Some(forged))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let mut stranger = Browser::new(&app);
        let no_cookie = format!(
            "request={request}&csrf={csrf}&email=eve%40example.com&password=whatever123&intent=signup"
        );
        assert_eq!(
            stranger
                .send(Method::POST, &format!("/z/{zone}/login"), Some(no_cookie))
                .await
                .status,
            StatusCode::FORBIDDEN,
            "the token alone is not enough"
        );
        let wrong = format!(
            "request={request}&csrf={csrf}&email=nobody%40example.com&password=whatever123&intent=signin"
        );
        let page = b
            .send(Method::POST, &format!("/z/{zone}/login"), Some(wrong))
            .await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "the form comes back with an error"
        );
        let ok = format!(
            "request={request}&csrf={csrf}&email=erin%40example.com&password=whatever123&intent=signup"
        );
        b.send(Method::POST, &format!("/z/{zone}/login"), Some(ok))
            .await;
        let denied = location(
            &b.send(
                Method::POST,
                &format!("/z/{zone}/login/consent"),
                Some(format!("request={request}&csrf={csrf}&decision=deny")),
            )
            .await,
        );
        assert_eq!(
            (
                param(&denied, "error").as_deref(),
                param(&denied, "state").as_deref()
            ),
            (Some("access_denied"), Some("xyz"))
        );
    }
);

both_backends!(invitations_gate_sign_up, |app: TestApp| async move {
    let zone = app.create("/zones", json!({"name": "invite-only"})).await;
    app.create(
        &format!("/zones/{zone}/resources"),
        json!({"identifier": "https://mcp.test/mcp", "name": "MCP", "scopes": ["tools"]}),
    )
    .await;
    let reg = Request::post(format!("/z/{zone}/oauth/2/registration"))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"redirect_uris": ["http://127.0.0.1/callback"]}).to_string(),
        ))
        .unwrap();
    let client = app.raw(reg).await.json["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = app
        .admin(Method::GET, &format!("/zones/{zone}"), None)
        .await
        .json["organization_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inv = app
        .admin(
            Method::POST,
            &format!("/organizations/{org}/invitations"),
            Some(json!({"email": "Invited@Example.com", "role": "org_member"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    assert_eq!(
        (inv["status"].as_str(), inv["email"].as_str()),
        (Some("pending"), Some("invited@example.com"))
    );
    let token = inv["token"].as_str().unwrap().to_owned();
    let public = app
        .call(Method::GET, &format!("/invitations/{token}"), None, None)
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        (public["status"].as_str(), public["role"].as_str()),
        (Some("pending"), Some("org_member"))
    );
    let listed = app
        .admin(
            Method::GET,
            &format!("/organizations/{org}/invitations"),
            None,
        )
        .await
        .json;
    assert!(
        listed["items"][0].get("token").is_none(),
        "the token is shown once"
    );

    let attempt = |email: &'static str, extra: String| {
        let app = &app;
        let zone = zone.clone();
        let client = client.clone();
        async move {
            let mut b = Browser::new(app);
            let login = location(
                &b.send(Method::GET, &authorize_url(&zone, &client, &extra), None)
                    .await,
            );
            let request = param(&format!("http://lk.test{login}"), "request").unwrap();
            b.send(Method::GET, &login, None).await;
            let csrf = field(app, &login, &b.cookies, "csrf").await;
            let form = format!(
                "request={request}&csrf={csrf}&email={}&password=correct-horse&intent=signup",
                urlencoding(email)
            );
            b.send(Method::POST, &format!("/z/{zone}/login"), Some(form))
                .await
        }
    };
    let refused = attempt("stranger@example.com", String::new()).await;
    assert_eq!(
        refused.status,
        StatusCode::OK,
        "the sign-in page comes back with an error"
    );
    let users = app
        .admin(Method::GET, &format!("/zones/{zone}/users"), None)
        .await
        .json;
    assert!(
        users["items"].as_array().unwrap().is_empty(),
        "no account without an invitation"
    );
    // The invited address alone is not enough: the invitation link must come with it.
    attempt("invited@example.com", String::new()).await;
    attempt("stranger@example.com", format!("&invitation={token}")).await;
    let users = app
        .admin(Method::GET, &format!("/zones/{zone}/users"), None)
        .await
        .json;
    assert!(
        users["items"].as_array().unwrap().is_empty(),
        "neither the invited address without the link nor the link with another address"
    );
    let admitted = attempt("invited@example.com", format!("&invitation={token}")).await;
    assert_eq!(
        admitted.status,
        StatusCode::OK,
        "consent page after sign-up"
    );
    let users = app
        .admin(Method::GET, &format!("/zones/{zone}/users"), None)
        .await
        .json;
    assert_eq!(users["items"][0]["email"], "invited@example.com");
    assert_eq!(
        users["items"][0]["email_verified"], true,
        "the invitation link proves the address"
    );
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    let spent = app
        .call(Method::GET, &format!("/invitations/{token}"), None, None)
        .await
        .json;
    assert_eq!(spent["status"], "accepted");
    // Only the invited person accepts an invitation; an API key never does.
    let again = app
        .admin(Method::POST, &format!("/invitations/{token}/accept"), None)
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    app.call(Method::GET, "/invitations/lk_inv_unknown", None, None)
        .await
        .expect(StatusCode::NOT_FOUND);
    let second = app
        .admin(
            Method::POST,
            &format!("/organizations/{org}/invitations"),
            Some(json!({"email": "x@example.com", "role": "org_admin"})),
        )
        .await
        .json;
    app.admin(
        Method::DELETE,
        &format!(
            "/organizations/{org}/invitations/{}",
            second["id"].as_str().unwrap()
        ),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    let revoked = app
        .call(
            Method::GET,
            &format!("/invitations/{}", second["token"].as_str().unwrap()),
            None,
            None,
        )
        .await
        .json;
    assert_eq!(revoked["status"], "revoked");
    app.admin(
        Method::POST,
        &format!("/organizations/{org}/invitations"),
        Some(json!({"email": "not-an-email", "role": "org_member"})),
    )
    .await
    .expect(StatusCode::BAD_REQUEST);
    app.admin(
        Method::POST,
        &format!("/organizations/{org}/invitations"),
        Some(json!({"email": "a@b.c", "role": "king"})),
    )
    .await
    .expect(StatusCode::BAD_REQUEST);
});
