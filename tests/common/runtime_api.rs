//! A Lambda Runtime API emulator for tests: the HTTP endpoints a function polls
//! (`/2018-06-01/runtime/invocation/next`) and answers on (`.../{id}/response`, `.../{id}/error`,
//! `/runtime/init/error`), as AWS Lambda serves them to a provided.al2023 bootstrap. `invoke`
//! queues an event and waits for the function's answer, like one synchronous invocation.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// POST .../response: the function's result.
    Response(serde_json::Value),
    /// POST .../error: an error response (errorType, errorMessage).
    Error(serde_json::Value),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Vec<u8>, Duration)>,
    answers: HashMap<String, Answer>,
    init_error: Option<String>,
    next_id: u64,
}

pub struct RuntimeApi {
    /// host:port, the value of AWS_LAMBDA_RUNTIME_API.
    pub addr: String,
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the runtime API emulator");
        let addr = listener.local_addr().expect("local addr").to_string();
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve_connection(conn, &s);
                });
            }
        });
        RuntimeApi { addr, shared }
    }

    /// Queue an event (raw bytes, so tests can send what is not JSON) and wait for the answer.
    pub fn invoke_raw(&self, payload: &[u8], timeout: Duration) -> Answer {
        self.invoke_with_deadline(payload, timeout, Duration::from_secs(60))
    }

    /// The same, telling the function it has `time_limit` (Lambda-Runtime-Deadline-Ms).
    pub fn invoke_with_deadline(
        &self,
        payload: &[u8],
        timeout: Duration,
        time_limit: Duration,
    ) -> Answer {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().unwrap();
        st.next_id += 1;
        let id = format!("req-{}", st.next_id);
        st.queue
            .push_back((id.clone(), payload.to_vec(), time_limit));
        cv.notify_all();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(a) = st.answers.remove(&id) {
                return a;
            }
            if let Some(e) = &st.init_error {
                panic!("the function reported an init error: {e}");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no answer to {id} within {timeout:?}");
            st = cv.wait_timeout(st, left).unwrap().0;
        }
    }

    pub fn invoke(&self, event: &serde_json::Value) -> Answer {
        self.invoke_raw(event.to_string().as_bytes(), Duration::from_secs(60))
    }
}

fn serve_connection(conn: TcpStream, shared: &Arc<(Mutex<State>, Condvar)>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)?
        } else {
            let mut b = vec![0; length];
            reader.read_exact(&mut b)?;
            b
        };
        let (lock, cv) = &**shared;
        let invocation = format!("{PREFIX}/invocation/");
        if method == "GET" && path == format!("{PREFIX}/invocation/next") {
            let (id, payload, time_limit) = {
                let mut st = lock.lock().unwrap();
                loop {
                    if let Some(next) = st.queue.pop_front() {
                        break next;
                    }
                    st = cv.wait(st).unwrap();
                }
            };
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + time_limit;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:ddb-test\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\r\n",
                payload.len(),
                deadline.as_millis()
            );
            writer.write_all(head.as_bytes())?;
            writer.write_all(&payload)?;
        } else if let (true, Some(rest)) = (method == "POST", path.strip_prefix(&invocation)) {
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())
            });
            let answer = match kind {
                "response" => Answer::Response(value),
                _ => Answer::Error(value),
            };
            lock.lock().unwrap().answers.insert(id.to_string(), answer);
            cv.notify_all();
            accepted(&mut writer)?;
        } else if method == "POST" && path == format!("{PREFIX}/init/error") {
            lock.lock().unwrap().init_error = Some(String::from_utf8_lossy(&body).into_owned());
            cv.notify_all();
            accepted(&mut writer)?;
        } else {
            writer.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
        }
        writer.flush()?;
    }
}

fn accepted(w: &mut TcpStream) -> std::io::Result<()> {
    let body = br#"{"status":"OK"}"#;
    write!(
        w,
        "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    w.write_all(body)
}

fn read_chunked(r: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        r.read_line(&mut size)?;
        let n =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; n + 2];
        r.read_exact(&mut chunk)?;
        if n == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..n]);
    }
}
