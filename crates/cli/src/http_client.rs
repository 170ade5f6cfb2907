//! A small keep-alive HTTP/1.1 client that checks what it reads (status line, headers,
//! exact Content-Length body): the load driver of `espell experiment` and of the web
//! application's tests.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The largest body the client accepts (a wrong Content-Length must not exhaust memory).
const MAX_BODY: usize = 64 << 20;

/// One HTTP response as read off the wire.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8).
    pub body: String,
}

impl Response {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A keep-alive HTTP client on one connection.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects with `timeout` on connect, reads and writes.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Client, String> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends raw bytes.
    pub fn send(&mut self, raw: &[u8]) -> io::Result<()> {
        self.writer.write_all(raw)?;
        self.writer.flush()
    }

    /// Sends one HTTP/1.1 request (with Host and, for a body, Content-Length) and reads
    /// its response.
    pub fn request(&mut self, method: &str, path: &str, body: Option<(&str, &str)>) -> Result<Response, String> {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: espell-load\r\n");
        if let Some((content_type, text)) = body {
            raw.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                text.len()
            ));
            raw.push_str("\r\n");
            raw.push_str(text);
        } else {
            raw.push_str("\r\n");
        }
        self.send(raw.as_bytes())
            .map_err(|e| format!("{method} {path}: write: {e}"))?;
        self.read_response().map_err(|e| format!("{method} {path}: {e}"))
    }

    /// Reads a response: status line, headers, and exactly Content-Length bytes of body.
    pub fn read_response(&mut self) -> Result<Response, String> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| format!("reading the status line: {e}"))?;
        if n == 0 {
            return Err("connection closed before a response".into());
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if version != "HTTP/1.1" {
            return Err(format!("bad status line {line:?}"));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        if parts.next().unwrap_or("").is_empty() {
            return Err(format!("no reason phrase in {line:?}"));
        }
        if !line.ends_with("\r\n") {
            return Err(format!("status line not ended by CRLF: {line:?}"));
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            let n = self
                .reader
                .read_line(&mut h)
                .map_err(|e| format!("reading headers: {e}"))?;
            if n == 0 {
                return Err("connection closed in the headers".into());
            }
            if h == "\r\n" {
                break;
            }
            let (k, v) = h
                .trim_end()
                .split_once(':')
                .ok_or_else(|| format!("bad header line {h:?}"))?;
            headers.push((k.to_string(), v.trim().to_string()));
        }
        let mut response = Response {
            status,
            headers,
            body: String::new(),
        };
        let length: usize = response
            .header("Content-Length")
            .ok_or("no Content-Length")?
            .parse()
            .map_err(|_| "bad Content-Length")?;
        let connection = response.header("Connection").ok_or("no Connection header")?;
        if connection != "keep-alive" && connection != "close" {
            return Err(format!("Connection: {connection}"));
        }
        if length > MAX_BODY {
            return Err(format!("Content-Length {length} is larger than {MAX_BODY} bytes"));
        }
        let mut body = vec![0u8; length];
        self.reader
            .read_exact(&mut body)
            .map_err(|e| format!("reading a {length}-byte body: {e}"))?;
        response.body = String::from_utf8(body).map_err(|_| "body is not UTF-8")?;
        Ok(response)
    }

    /// Reads one raw line (with its CRLF): for responses without a body, such as HEAD's.
    pub fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        self.reader.read_line(&mut line).map_err(|e| e.to_string())?;
        Ok(line)
    }

    /// True when the server closed the connection (EOF or reset) within the timeout.
    pub fn closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 256];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return false,
                Err(_) => return true,
            }
        }
    }
}

/// `Ok` when `cond` holds, else the error `what` describes.
pub fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// `Ok` when the response has `status`; `what` names the request in the error.
pub fn expect_status(r: &Response, status: u16, what: &str) -> Result<(), String> {
    ensure(r.status == status, || format!("{what}: expected {status}, got {r:?}"))
}
