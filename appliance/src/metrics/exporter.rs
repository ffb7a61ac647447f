//! `/metrics` over HTTP (`tiny_http`) on a thread of its own, never a data-plane core.
//!
//! Each scrape reads the daemon's status through the control socket — the same report
//! `meridian status --json` prints, so the engine loop answers it between two rounds and
//! does nothing else for the exporter — and the residence histograms straight from their
//! shared copies (residence, Sync departures, TX-stamp latency), then renders both ([`super::render`]). Anything but `GET /metrics` gets
//! 404 or 405; a request body is never read; a scrape that finds the engine unresponsive
//! still answers, with `meridian_engine_responsive 0`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tiny_http::{Header, Method, Response, Server};

use super::render::{render, BuildInfo, Sources};
use super::Histograms;

/// How often the thread looks at the stop flag while no request comes.
const STOP_CHECK: Duration = Duration::from_millis(200);
/// The exposition format served.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exporter could not start.
#[derive(Debug, thiserror::Error)]
#[error("metrics exporter on {addr}: {reason}")]
pub struct ExporterError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// Why it failed.
    pub reason: String,
}

/// A running exporter.
#[derive(Debug)]
pub struct Exporter {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Exporter {
    /// Binds `listen` and starts serving: status from the control socket `control`, the
    /// histograms from `histograms`. The thread keeps off `avoid_cpus` (the data
    /// plane's cores) when any other CPU exists.
    pub fn start(
        listen: SocketAddr,
        control: PathBuf,
        histograms: Histograms,
        build: BuildInfo,
        avoid_cpus: &[usize],
    ) -> Result<Exporter, ExporterError> {
        let fail = |reason: String| ExporterError {
            addr: listen,
            reason,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let avoid = avoid_cpus.to_vec();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("meridian-metrics".into())
            .spawn(move || {
                // Off the data plane's cores *before* the server exists: tiny_http's acceptor
                // and worker threads inherit this thread's CPUs (spawned from the pinned
                // engine thread, they shared its core and delayed Syncs by tens of µs).
                crate::sys::keep_off_cpus(&avoid, "metrics exporter");
                let server = match Server::http(listen) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = bound_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = bound_tx.send(Ok(server.server_addr().to_ip().unwrap_or(listen)));
                serve(&server, &control, &histograms, &build, &flag)
            })
            .map_err(|e| fail(e.to_string()))?;
        let addr = match bound_rx.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(reason)) => {
                let _ = thread.join();
                return Err(fail(reason));
            }
            Err(_) => {
                let _ = thread.join();
                return Err(fail("the exporter thread ended".into()));
            }
        };
        tracing::info!(%addr, "metrics exporter listening (/metrics)");
        Ok(Exporter {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on (the port chosen, if 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    server: &Server,
    control: &std::path::Path,
    histograms: &Histograms,
    build: &BuildInfo,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let request = match server.recv_timeout(STOP_CHECK) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "metrics exporter: accepting a request");
                continue;
            }
        };
        let response = match (request.method(), request.url()) {
            (Method::Get, "/metrics") => {
                let report = crate::control::fetch(control).ok();
                let body = render(&Sources {
                    build,
                    report: report.as_ref(),
                    histograms,
                });
                let mut r = Response::from_string(body);
                if let Ok(h) = Header::from_bytes("Content-Type", CONTENT_TYPE) {
                    r = r.with_header(h);
                }
                r
            }
            (_, "/metrics") => Response::from_string("only GET\n").with_status_code(405),
            _ => Response::from_string("see /metrics\n").with_status_code(404),
        };
        // A client that went away is its own problem.
        let _ = request.respond(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn serves_metrics_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let series = Histograms::new(1);
        let mut rec = series.residence[0].recorders();
        rec.record(super::super::ReplyKind::DelayResp, 1_500);
        rec.publish();
        let build = BuildInfo {
            version: "1.2.3".into(),
            profile: "default-e2e".into(),
            backend: "sockets".into(),
        };
        let e = Exporter::start(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("no-daemon.sock"),
            series,
            build,
            &[],
        )
        .unwrap();
        let ok = get(e.addr(), "GET /metrics HTTP/1.0\r\n\r\n");
        assert!(
            ok.starts_with("HTTP/1.0 200") || ok.starts_with("HTTP/1.1 200"),
            "{ok}"
        );
        assert!(ok.contains("text/plain; version=0.0.4"), "{ok}");
        assert!(ok.contains("meridian_build_info{backend=\"sockets\",profile=\"default-e2e\",version=\"1.2.3\"} 1"), "{ok}");
        assert!(
            ok.contains("meridian_engine_responsive 0"),
            "no daemon: {ok}"
        );
        assert!(
            ok.contains("meridian_residence_seconds_bucket{message_type=\"delay_resp\",port=\"1\",le=\"0.000002\"} 1"),
            "{ok}"
        );
        let nf = get(e.addr(), "GET / HTTP/1.0\r\n\r\n");
        assert!(nf.contains(" 404 "), "{nf}");
        let post = get(
            e.addr(),
            "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
        );
        assert!(post.contains(" 405 "), "{post}");
        let junk = get(e.addr(), "\x16\x03\x01 not http at all\r\n\r\n");
        assert!(!junk.contains(" 200 "), "{junk}");
        // Still serving after the junk.
        assert!(get(e.addr(), "GET /metrics HTTP/1.0\r\n\r\n").contains("meridian_build_info"));
        drop(e);
    }
}
