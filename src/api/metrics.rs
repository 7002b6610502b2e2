//! `GET /metrics`: Prometheus text exposition (version 0.0.4) of calls, legs
//! and media workers.

use super::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// A metric family: name, type, help text, and how to read one value.
type Family<T> = (&'static str, &'static str, &'static str, fn(&T) -> u64);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Label values escaped as the text format asks (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `/metrics`
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> Response {
    let calls = state.calls.snapshot();
    let mut out = String::with_capacity(4096 + calls.len() * 1024);
    family(
        &mut out,
        "sotto_calls_active",
        "gauge",
        "Calls in progress.",
    );
    let _ = writeln!(out, "sotto_calls_active {}", calls.len());

    let per_leg: [Family<crate::view::LegSummary>; 9] = [
        (
            "sotto_leg_packets_in_total",
            "counter",
            "RTP packets received on a leg.",
            |l| l.packets_in,
        ),
        (
            "sotto_leg_packets_out_total",
            "counter",
            "RTP packets sent on a leg.",
            |l| l.packets_out,
        ),
        (
            "sotto_leg_packets_lost_total",
            "counter",
            "RTP packets missing on a leg (RFC 3550).",
            |l| l.media.lost,
        ),
        (
            "sotto_leg_packets_late_total",
            "counter",
            "RTP packets that arrived after their playout time.",
            |l| l.media.late,
        ),
        (
            "sotto_leg_packets_dropped_total",
            "counter",
            "RTP packets dropped before or after the pipeline.",
            |l| l.media.dropped,
        ),
        (
            "sotto_leg_frames_concealed_total",
            "counter",
            "20 ms frames concealed for missing packets.",
            |l| l.media.concealed,
        ),
        (
            "sotto_leg_frames_denoised_total",
            "counter",
            "20 ms frames that went through the noise remover.",
            |l| l.media.denoised,
        ),
        (
            "sotto_leg_duplicates_total",
            "counter",
            "Duplicate RTP packets received.",
            |l| l.media.duplicates,
        ),
        (
            "sotto_leg_jitter_ms",
            "gauge",
            "Interarrival jitter of a leg (RFC 3550 A.8), milliseconds.",
            |l| l.media.jitter_ms,
        ),
    ];
    for (name, kind, help, get) in per_leg {
        family(&mut out, name, kind, help);
        for c in &calls {
            for leg in &c.legs {
                let _ = writeln!(
                    out,
                    "{name}{{call=\"{}\",leg=\"{}\",role=\"{}\"}} {}",
                    label(&c.id),
                    label(&leg.id),
                    match leg.role {
                        crate::view::LegRole::Caller => "caller",
                        crate::view::LegRole::Callee => "callee",
                    },
                    get(leg)
                );
            }
        }
    }

    let per_worker: [Family<crate::media_rt::WorkerMetrics>; 4] = [
        (
            "sotto_media_worker_calls",
            "gauge",
            "Calls a media worker owns.",
            |w| w.calls.load(Ordering::Relaxed) as u64,
        ),
        (
            "sotto_media_worker_ticks_total",
            "counter",
            "20 ms ticks a media worker ran.",
            |w| w.ticks.load(Ordering::Relaxed),
        ),
        (
            "sotto_media_worker_tick_overruns_total",
            "counter",
            "Ticks a media worker ran more than a frame late.",
            |w| w.overruns.load(Ordering::Relaxed),
        ),
        (
            "sotto_media_worker_busy_seconds_total",
            "counter",
            "Time a media worker spent working.",
            |w| w.busy_us.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, get) in per_worker {
        family(&mut out, name, kind, help);
        for (i, w) in state.workers.iter().enumerate() {
            let v = get(w);
            if name.ends_with("_seconds_total") {
                let _ = writeln!(out, "{name}{{worker=\"{i}\"}} {:.6}", v as f64 / 1e6);
            } else {
                let _ = writeln!(out, "{name}{{worker=\"{i}\"}} {v}");
            }
        }
    }
    centre(&state, &mut out).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// The contact centre's queues and agents, asked of its task (a scrape every
/// few seconds costs one round trip; nothing is computed per call).
async fn centre(state: &AppState, out: &mut String) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !state
        .control
        .send(crate::runtime::Command::CentreStats { reply: tx })
    {
        return;
    }
    let Ok(Ok(stats)) = tokio::time::timeout(std::time::Duration::from_secs(2), rx).await else {
        return;
    };
    let per_queue: [Family<crate::contact::QueueStats>; 6] = [
        (
            "sotto_queue_waiting",
            "gauge",
            "Contacts waiting in a queue (an offer ringing included).",
            |q| q.waiting,
        ),
        (
            "sotto_queue_offered_total",
            "counter",
            "Offers made from a queue.",
            |q| q.offered,
        ),
        (
            "sotto_queue_answered_total",
            "counter",
            "Offers accepted.",
            |q| q.answered,
        ),
        (
            "sotto_queue_abandoned_total",
            "counter",
            "Contacts whose customer left before an agent took them.",
            |q| q.abandoned,
        ),
        (
            "sotto_queue_rona_total",
            "counter",
            "Offers not taken in time or refused (RONA).",
            |q| q.rona,
        ),
        (
            "sotto_queue_oldest_wait_seconds",
            "gauge",
            "How long the oldest waiting contact has waited.",
            |q| q.oldest_wait_ms,
        ),
    ];
    for (name, kind, help, get) in per_queue {
        family(out, name, kind, help);
        for q in &stats.queues {
            let v = get(q);
            let queue = label(&q.queue);
            if name.ends_with("_seconds") {
                let _ = writeln!(out, "{name}{{queue=\"{queue}\"}} {:.3}", v as f64 / 1e3);
            } else {
                let _ = writeln!(out, "{name}{{queue=\"{queue}\"}} {v}");
            }
        }
    }
    family(out, "sotto_agents", "gauge", "Agents in each state.");
    for (s, n) in &stats.agents {
        let _ = writeln!(out, "sotto_agents{{state=\"{}\"}} {n}", label(s));
    }
}
