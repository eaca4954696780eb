//! `/login` and `/logout`.

use std::net::{IpAddr, SocketAddr};

use axum::Form;
use axum::extract::{ConnectInfo, FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::CurrentUser;
use super::cookies::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, get_cookie, set_cookie};
use crate::error::AppError;
use crate::pages::layout::page;
use crate::secret::{Secret, random_token};
use crate::state::AppState;

/// `?next=` of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths: `/x`, never `//host` or `/\host` (open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_page(
    state: &AppState,
    csrf: &str,
    next: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let body = html! {
        section.card.narrow {
            h1 { "Sign in to Steward" }
            @if let Some(e) = error { p.notice.bad role="alert" { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="username" { "User name" }
                input #username type="text" name="username" value=(username)
                    autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password"
                    autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        }
    };
    let cookie = set_cookie(LOGIN_CSRF_COOKIE, csrf, None, state.config.secure_cookies);
    (
        status,
        [(header::SET_COOKIE, cookie)],
        page("Sign in", None, body),
    )
        .into_response()
}

/// `GET /login`.
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    // Reuse the double-submit token if the browser already has one (several tabs).
    let csrf = match get_cookie(&headers, LOGIN_CSRF_COOKIE).filter(|c| c.len() == 43) {
        Some(c) => c,
        None => random_token()?.expose().to_owned(),
    };
    let next = safe_next(q.next.as_deref());
    Ok(login_page(&state, &csrf, &next, "", None, StatusCode::OK))
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

fn client_ip(req_ip: Option<&ConnectInfo<SocketAddr>>) -> Option<IpAddr> {
    req_ip.map(|c| c.0.ip())
}

/// `POST /login` (CSRF checked by the middleware against the login cookie).
pub async fn login(State(state): State<AppState>, req: Request) -> Result<Response, AppError> {
    let ip = client_ip(req.extensions().get::<ConnectInfo<SocketAddr>>());
    let csrf = get_cookie(req.headers(), LOGIN_CSRF_COOKIE).unwrap_or_default();
    let Form(form) = Form::<LoginForm>::from_request(req, &state)
        .await
        .map_err(|_| AppError::BadRequest("the sign-in form is incomplete".into()))?;
    let password = Secret::new(form.password);
    let next = safe_next(form.next.as_deref());
    let user_key = form.username.trim().to_ascii_lowercase();
    let now = state.app.now();
    if let Some(secs) = state.throttle.locked(&user_key, ip, now) {
        let msg = format!("Too many failed sign-ins. Try again in {secs} seconds.");
        return Ok(login_page(
            &state,
            &csrf,
            &next,
            &form.username,
            Some(&msg),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let Some((account, id)) = state.app.login(&form.username, password, ip).await? else {
        let locked = state.throttle.fail(&user_key, ip, now);
        tracing::info!(user = %user_key, ip = ?ip, locked_secs = ?locked, "sign-in failed");
        let (msg, status) = match locked {
            Some(secs) => (
                format!("Too many failed sign-ins. Try again in {secs} seconds."),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            None => (
                "Wrong user name or password.".to_owned(),
                StatusCode::UNAUTHORIZED,
            ),
        };
        return Ok(login_page(
            &state,
            &csrf,
            &next,
            &form.username,
            Some(&msg),
            status,
        ));
    };
    state.throttle.succeed(&user_key, ip);
    tracing::info!(user = %account.username, "signed in");
    let secure = state.config.secure_cookies;
    let mut resp = Redirect::to(&next).into_response();
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, id.expose(), None, secure),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, "", Some(0), secure),
    );
    Ok(resp)
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if let Some(id_hash) = user.session_key() {
        state
            .app
            .logout(&user.actor(), user.account, id_hash)
            .await?;
        state.pending.remove_session(id_hash);
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), state.config.secure_cookies),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_same_site_only() {
        assert_eq!(safe_next(Some("/settings/okta")), "/settings/okta");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
