//! A small HTTP/1.1 server: one thread per connection, keep-alive, optional TLS, and the hooks
//! the fault scripts need (reset, drop, delay) that a general-purpose server hides.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::control_api::{self, Logged};
use crate::faults::{Arrival, Fault};
use crate::http::{Request, Response, reason};
use crate::state::Shared;

const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 1 << 20;
/// How often a connection thread waiting for a request looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

pub(crate) struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(
        shared: Arc<Shared>,
        tls: Option<Arc<rustls::ServerConfig>>,
        port: u16,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("sandbox-accept".into())
                .spawn(move || accept_loop(&listener, &shared, tls.as_ref(), &stop))?
        };
        Ok(Server {
            addr,
            stop,
            acceptor: Some(acceptor),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    tls: Option<&Arc<rustls::ServerConfig>>,
    stop: &Arc<AtomicBool>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        shared.counters.connection_accepted();
        let (shared, tls, stop) = (Arc::clone(shared), tls.cloned(), Arc::clone(stop));
        let _ = std::thread::Builder::new()
            .name("sandbox-conn".into())
            .spawn(move || {
                let _ = serve(stream, &shared, tls, &stop);
            });
    }
}

fn serve(
    tcp: TcpStream,
    shared: &Shared,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: &AtomicBool,
) -> io::Result<()> {
    tcp.set_read_timeout(Some(POLL))?;
    tcp.set_nodelay(true)?;
    let peer = tcp.peer_addr()?.ip();
    let control = tcp.try_clone()?;
    let mut stream: Box<dyn ReadWrite> = match tls {
        Some(config) => {
            let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
            Box::new(rustls::StreamOwned::new(connection, tcp))
        }
        None => Box::new(tcp),
    };
    let mut buffer = Vec::new();
    let mut poisoned = false;
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer, stop, peer)? else {
            return Ok(());
        };
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if control_api::is_control_path(&request.path) {
            let response = control_api::handle(&request, shared);
            Logged::new(shared, &request, None).status(response.status);
            write_response(&mut stream, &response, close)?;
            if close {
                return Ok(());
            }
            continue;
        }
        shared.counters.request();
        shared.arrived(&request);
        shared.faults.arrived(Arrival {
            method: request.method.clone(),
            path: request.path.clone(),
            idempotency_key: request.header("idempotency-key").map(str::to_owned),
            query: request.query.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        });
        if poisoned {
            // The request after a poisoned answer is processed and answered with garbage.
            let _logged = Logged::new(shared, &request, None);
            let _ = shared.route(&request);
            stream.write_all(GARBAGE)?;
            stream.flush()?;
            return reset(&control);
        }
        let fault = shared.faults.take(&request.path);
        let mut logged = Logged::new(shared, &request, fault.as_ref());
        let response = match fault {
            None => shared.route(&request),
            Some(Fault::Reset) => return reset(&control),
            Some(Fault::Delay(wait)) => {
                std::thread::sleep(wait);
                shared.route(&request)
            }
            Some(Fault::HtmlError(status)) => html_error(status),
            Some(Fault::MalformedJson) => Response::raw(
                200,
                "application/json",
                r#"{"access_token": "abc", "expires_in": "#,
            ),
            Some(Fault::OversizedBody(bytes)) => oversized(bytes),
            Some(Fault::Answer { status, body }) => Response::raw(status, "application/json", body),
            Some(Fault::TooManyRequests { retry_after }) => {
                Response::json(429, &serde_json::json!({ "error": "too_many_requests" }))
                    .header("Retry-After", retry_after)
            }
            Some(Fault::ProcessThenDrop) => {
                let _ = shared.route(&request);
                return reset(&control);
            }
            Some(Fault::ProcessThenDelay(wait)) => {
                let response = shared.route(&request);
                std::thread::sleep(wait);
                response
            }
            Some(Fault::TlsGarbage) => {
                let _ = shared.route(&request);
                return raw_then_close(&control, GARBAGE);
            }
            Some(Fault::TlsFatalAlert) => {
                let _ = shared.route(&request);
                return raw_then_close(&control, FATAL_ALERT);
            }
            Some(Fault::EchoJson(status)) => vendor_error(status, &echo(&request)),
            Some(Fault::EchoHtml(status)) => Response::raw(
                status,
                "text/html",
                format!(
                    "<html><body><h1>{status} {}</h1><pre>{}</pre></body></html>",
                    reason(status),
                    echo(&request)
                ),
            ),
            Some(Fault::RawMember { name, raw }) => raw_member(shared.route(&request), &name, &raw),
            Some(Fault::ContinueFlood(count)) => {
                let response = shared.route(&request);
                for _ in 0..count {
                    stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
                }
                response
            }
            Some(Fault::DripHead(every)) => {
                let bytes = encode_response(&shared.route(&request), true);
                let head = bytes.len() - response_body_len(&bytes);
                return drip(&mut stream, &bytes, 0, head, every);
            }
            Some(Fault::DripBody(every)) => {
                let bytes = encode_response(&shared.route(&request), true);
                let head = bytes.len() - response_body_len(&bytes);
                return drip(&mut stream, &bytes, head, bytes.len(), every);
            }
            Some(Fault::PoisonKeepAlive) => {
                let response = shared.route(&request);
                logged.status(response.status);
                write_response(&mut stream, &response, false)?;
                poisoned = true;
                continue;
            }
            Some(Fault::HugeErrMsg(bytes)) => huge_error(bytes),
            Some(Fault::Unavailable { retry_after }) => {
                html_error(503).header("Retry-After", retry_after)
            }
        };
        logged.status(response.status);
        drop(logged);
        write_response(&mut stream, &response, close)?;
        if close {
            return Ok(());
        }
    }
}

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

/// Reads one request; `None` when the client closed the connection or the server is stopping.
fn read_request(
    stream: &mut Box<dyn ReadWrite>,
    buffer: &mut Vec<u8>,
    stop: &AtomicBool,
    peer: std::net::IpAddr,
) -> io::Result<Option<Request>> {
    let mut chunk = [0u8; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        let status = parsed
            .parse(buffer)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let httparse::Status::Complete(header_len) = status {
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let target = parsed.path.unwrap_or("/").to_owned();
            let method = parsed.method.unwrap_or("GET").to_owned();
            let length = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if length > MAX_BODY_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request body too large",
                ));
            }
            while buffer.len() < header_len + length {
                if !fill(stream, buffer, &mut chunk, stop)? {
                    return Ok(None);
                }
            }
            let body = buffer[header_len..header_len + length].to_vec();
            buffer.drain(..header_len + length);
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_owned(), q.to_owned()),
                None => (target, String::new()),
            };
            return Ok(Some(Request {
                method,
                path,
                query,
                headers,
                body,
                peer,
            }));
        }
        if buffer.len() > MAX_HEADER_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request headers too large",
            ));
        }
        if !fill(stream, buffer, &mut chunk, stop)? {
            return Ok(None);
        }
    }
}

/// Reads more bytes into `buffer`; `false` on end of stream or stop.
fn fill(
    stream: &mut Box<dyn ReadWrite>,
    buffer: &mut Vec<u8>,
    chunk: &mut [u8],
    stop: &AtomicBool,
) -> io::Result<bool> {
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        match stream.read(chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                buffer.extend_from_slice(&chunk[..n]);
                return Ok(true);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn write_response(
    stream: &mut Box<dyn ReadWrite>,
    response: &Response,
    close: bool,
) -> io::Result<()> {
    stream.write_all(&encode_response(response, close))?;
    stream.flush()
}

fn encode_response(response: &Response, close: bool) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(&response.body);
    message
}

/// The length of the body at the end of an encoded response.
fn response_body_len(message: &[u8]) -> usize {
    message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |at| message.len() - at - 4)
}

/// Bytes that are neither a TLS record nor an HTTP response.
const GARBAGE: &[u8] = b"\x17\x03\x03\x00\x05\xde\xad\xbe\xef\x00garbage\r\n\r\n";
/// A TLS 1.2-framed fatal alert record: level 2 (fatal), description 80 (internal_error).
const FATAL_ALERT: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50];

/// Writes `bytes` on the raw TCP connection, under any TLS, and closes it.
fn raw_then_close(control: &TcpStream, bytes: &[u8]) -> io::Result<()> {
    let mut raw = control;
    raw.write_all(bytes)?;
    raw.flush()?;
    control.shutdown(std::net::Shutdown::Both).or(Ok(()))
}

/// Writes `message[..from]` at once, then `message[from..to]` one byte per `every`, then the rest,
/// and closes the connection. Stops when the client has gone.
fn drip(
    stream: &mut Box<dyn ReadWrite>,
    message: &[u8],
    from: usize,
    to: usize,
    every: Duration,
) -> io::Result<()> {
    stream.write_all(&message[..from])?;
    stream.flush()?;
    for byte in &message[from..to] {
        std::thread::sleep(every);
        stream.write_all(std::slice::from_ref(byte))?;
        stream.flush()?;
    }
    stream.write_all(&message[to..])?;
    stream.flush()
}

/// The request as a reflecting server shows it: the request line with the query, the body, then
/// every header (credentials first), so a 200-character excerpt still holds some of each.
fn echo(request: &Request) -> String {
    let mut text = format!("{} {}?{}\n", request.method, request.path, request.query);
    text.push_str(&String::from_utf8_lossy(&request.body));
    text.push('\n');
    let credential = |name: &str| {
        ["authorization", "x-api-key", "x-auth-token", "sesskey"]
            .iter()
            .any(|c| name.eq_ignore_ascii_case(c))
    };
    let (first, rest): (Vec<_>, Vec<_>) = request
        .headers
        .iter()
        .partition(|(name, _)| credential(name));
    for (name, value) in first.into_iter().chain(rest) {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text
}

/// A JSON error body that puts `text` in every member the clients quote: an EasyPay envelope's
/// `ErrMsg` and `RespMsg`, RFC 6749's `error_description`, NumCheck's `message`, RFC 7807's
/// `title` and `detail`.
fn vendor_error(status: u16, text: &str) -> Response {
    Response::json(
        status,
        &serde_json::json!({
            "FaultResult": {
                "FunctionOk": false,
                "ErrCode": 9999,
                "ErrMsg": text,
                "RespMsg": text,
            },
            "error": "invalid_request",
            "error_description": text,
            "success": false,
            "statusCode": status,
            "errorCode": 9999,
            "message": text,
            "type": "https://docs.payroc.com/api/errors#bad-request",
            "title": text,
            "detail": text,
        }),
    )
}

/// [`vendor_error`] with a 200 status, `ErrMsg` of `bytes` bytes, and the other quoted members
/// of at most 16 KiB each (so the body stays under the clients' 1 MiB limit).
fn huge_error(bytes: usize) -> Response {
    let short = "E".repeat(bytes.min(16 * 1024));
    let mut response = vendor_error(200, &short);
    if let Ok(serde_json::Value::Object(mut object)) =
        serde_json::from_slice::<serde_json::Value>(&response.body)
    {
        if let Some(serde_json::Value::Object(result)) = object.get_mut("FaultResult") {
            result.insert("ErrMsg".into(), "E".repeat(bytes).into());
        }
        response.body = serde_json::Value::Object(object).to_string().into_bytes();
    }
    response
}

/// `response` with its top-level JSON member `name` set to the raw JSON text `raw`.
fn raw_member(mut response: Response, name: &str, raw: &str) -> Response {
    const MARK: &str = "\u{1}raw-member\u{1}";
    let Ok(serde_json::Value::Object(mut object)) =
        serde_json::from_slice::<serde_json::Value>(&response.body)
    else {
        return response;
    };
    object.insert(name.to_owned(), serde_json::Value::from(MARK));
    let text = serde_json::Value::Object(object).to_string();
    let marked = serde_json::Value::from(MARK).to_string();
    response.body = text.replacen(&marked, raw, 1).into_bytes();
    response
}

/// Closes with RST rather than FIN, as a crashed server or a middlebox does.
fn reset(control: &TcpStream) -> io::Result<()> {
    socket2::SockRef::from(control).set_linger(Some(Duration::ZERO))?;
    control.shutdown(std::net::Shutdown::Both).or(Ok(()))
}

fn html_error(status: u16) -> Response {
    let body = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        reason = reason(status)
    );
    Response::raw(status, "text/html", body)
}

fn oversized(bytes: usize) -> Response {
    let mut body = Vec::with_capacity(bytes);
    body.extend_from_slice(br#"{"padding":""#);
    body.resize(bytes.saturating_sub(2).max(body.len()), b'x');
    body.extend_from_slice(br#""}"#);
    Response::raw(200, "application/json", body)
}
