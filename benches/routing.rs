//! Contact routing: one decision among 10,000 agents and 1,000 queues.
//!
//! `cargo bench --bench routing`
//!
//! 1,000 teams of 10 agents, each team serving one voice queue; every agent
//! is available with a registered phone. One iteration is a call arriving in
//! a queue (the longest-idle agent of its team is picked and offered the
//! call) and the caller hanging up at once (the offer is taken back and the
//! agent is free again), so the same decision is made every time.

use criterion::{criterion_group, criterion_main, Criterion};
use sotto::contact::{
    Agent, Arrival, Capacity, Channel, ContactCentre, Customer, Directory, Queue, Requested,
    Strategy, Team,
};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn centre(teams: usize, per_team: usize) -> (ContactCentre, Instant) {
    let mut dir = Directory::default();
    for t in 0..teams {
        let team = format!("team{t}");
        dir.teams.insert(
            team.as_str().into(),
            Team {
                id: team.as_str().into(),
                name: team.clone(),
                department: "all".into(),
            },
        );
        let queue = format!("queue{t}");
        dir.queues.insert(
            queue.as_str().into(),
            Queue {
                id: queue.as_str().into(),
                name: queue.clone(),
                team: team.as_str().into(),
                channel: Channel::Voice,
                strategy: Strategy::LongestIdle,
                rona_timeout: Duration::from_secs(15),
                wrap_up_reasons: vec!["done".into()],
                wrap_up_timeout: None,
                default_wrap_up: None,
            },
        );
        for a in 0..per_team {
            let id = format!("agent{t}-{a}");
            dir.agents.insert(
                id.as_str().into(),
                Agent {
                    id: id.as_str().into(),
                    display_name: id.clone(),
                    team: team.as_str().into(),
                    capacity: Capacity::default(),
                },
            );
        }
    }
    let start = Instant::now();
    let ids: Vec<_> = dir.agents.keys().cloned().collect();
    let mut cc = ContactCentre::new(dir, (start, 0)).unwrap();
    let mut now = start;
    for id in &ids {
        now += Duration::from_millis(1);
        cc.set_reachable(now, id, true);
        cc.set_state(now, id, Requested::Available).unwrap();
    }
    while cc.poll_output().is_some() {}
    (cc, now)
}

fn routing(c: &mut Criterion) {
    let (mut cc, start) = centre(1_000, 10);
    let queues: Vec<sotto::contact::QueueId> = (0..1_000)
        .map(|q| format!("queue{q}").as_str().into())
        .collect();
    let mut n = 0u64;
    c.bench_function("routing/offer_among_10000_agents_1000_queues", |b| {
        b.iter(|| {
            n += 1;
            let now = start + Duration::from_micros(n);
            let k = cc
                .arrive(
                    now,
                    Arrival {
                        queue: queues[(n % 1_000) as usize].clone(),
                        entry_point: None,
                        customer: Customer::default(),
                        variables: BTreeMap::new(),
                    },
                )
                .unwrap();
            cc.customer_left(now, black_box(k));
            while let Some(out) = cc.poll_output() {
                black_box(out);
            }
        })
    });
}

criterion_group!(benches, routing);
criterion_main!(benches);
