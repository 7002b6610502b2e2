//! The control API as a test drives it: `POST` with a JSON body (the GET side is in
//! [`super::http`]) and the parts of `GET /v1/calls` a transfer test looks at.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use super::http::{self, HttpResponse};
use super::sotto::Sotto;

/// `POST path` with a JSON body (`None`: no body) and `Connection: close`.
pub fn post(addr: SocketAddr, path: &str, body: Option<&Value>) -> io::Result<HttpResponse> {
    let timeout = Duration::from_secs(10);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n{content_type}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    http::parse(&raw).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad HTTP response: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

/// `POST /v1/calls/{id}/{action}`; panics if the request itself fails.
pub fn act(sotto: &Sotto, id: &str, action: &str, body: Option<&Value>) -> HttpResponse {
    let path = format!("/v1/calls/{id}/{action}");
    post(sotto.http, &path, body).unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// The live calls (`GET /v1/calls`).
pub fn calls(sotto: &Sotto) -> Vec<Value> {
    match sotto.get("/v1/calls").json() {
        Value::Array(calls) => calls,
        other => panic!("GET /v1/calls is not a list: {other}"),
    }
}

/// A call's parties as `kind:name` (`customer`, `agent:agent2`, `dial-number:+1…`),
/// answered ones only, sorted: what "who is in the call" means to a user.
pub fn answered_parties(call: &Value) -> Vec<String> {
    let mut out: Vec<String> = call["control"]["parties"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["answered"].as_bool() == Some(true))
                .map(|p| {
                    let kind = p["kind"].as_str().unwrap_or("?");
                    match (p["user"].as_str(), p["number"].as_str()) {
                        (Some(u), _) => format!("{kind}:{u}"),
                        (_, Some(n)) => format!("{kind}:{n}"),
                        _ => kind.to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The first live call whose answered parties are exactly `want` (sorted as
/// [`answered_parties`] gives them).
pub fn call_with_parties(sotto: &Sotto, want: &[&str]) -> Option<Value> {
    calls(sotto)
        .into_iter()
        .find(|c| answered_parties(c) == want)
}
