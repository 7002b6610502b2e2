//! The contact-centre rules on a simulated clock, races included.

use super::*;
use std::collections::BTreeSet;
use std::time::Duration;

const RONA: Duration = Duration::from_secs(15);

fn queue(id: &str, channel: Channel, wrap_timeout: Option<u64>) -> Queue {
    Queue {
        id: id.into(),
        name: format!("{id} queue"),
        team: "sales".into(),
        channel,
        strategy: Strategy::LongestIdle,
        rona_timeout: RONA,
        wrap_up_reasons: vec!["sale".into(), "no-sale".into(), "callback".into()],
        wrap_up_timeout: wrap_timeout.map(Duration::from_secs),
        default_wrap_up: wrap_timeout.map(|_| "no-sale".into()),
    }
}

fn directory(agents: &[&str]) -> Directory {
    let mut d = Directory {
        idle_reasons: vec!["lunch".into(), "training".into()],
        masking: true,
        ..Directory::default()
    };
    d.teams.insert(
        "sales".into(),
        Team {
            id: "sales".into(),
            name: "Sales".into(),
            department: "Revenue".into(),
        },
    );
    for q in [
        queue("voice", Channel::Voice, None),
        queue("chat", Channel::Chat, None),
        queue("timed", Channel::Voice, Some(20)),
    ] {
        d.queues.insert(q.id.clone(), q);
    }
    for a in agents {
        d.agents.insert(
            (*a).into(),
            Agent {
                id: (*a).into(),
                display_name: a.to_uppercase(),
                team: "sales".into(),
                capacity: Capacity::default(),
            },
        );
    }
    for (name, secure, on_offer) in [
        ("account", false, true),
        ("pin", true, true),
        ("tier", false, true),
        ("notes", false, false),
    ] {
        d.variables.push(VariableDef {
            name: name.into(),
            ty: VariableType::Text,
            editable: true,
            secure,
            on_offer,
        });
    }
    d
}

struct Lab {
    cc: ContactCentre,
    now: Instant,
    out: Vec<Output>,
}

impl Lab {
    fn new(agents: &[&str]) -> Lab {
        let now = Instant::now();
        let cc = ContactCentre::new(directory(agents), (now, 1_700_000_000_000)).unwrap();
        Lab {
            cc,
            now,
            out: Vec::new(),
        }
    }

    fn drain(&mut self) -> Vec<Output> {
        let mut new = Vec::new();
        while let Some(o) = self.cc.poll_output() {
            new.push(o);
        }
        self.out.extend(new.iter().cloned());
        new
    }

    fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(at) = self.cc.poll_timeout().filter(|t| *t <= until) {
            self.now = at;
            self.cc.handle_timeout(at);
        }
        self.now = until;
    }

    /// Agents logged in and available (phones registered), one second apart.
    fn available(&mut self, agents: &[&str]) {
        for a in agents {
            let id = AgentId::from(*a);
            self.cc.set_reachable(self.now, &id, true);
            self.cc
                .set_state(self.now, &id, Requested::Available)
                .unwrap();
            self.now += Duration::from_secs(1);
        }
        self.drain();
    }

    fn call(&mut self, number: &str) -> ContactId {
        self.arrive("voice", number)
    }

    fn arrive(&mut self, queue: &str, number: &str) -> ContactId {
        self.cc
            .arrive(
                self.now,
                Arrival {
                    queue: queue.into(),
                    entry_point: None,
                    customer: Customer {
                        number: Some(number.into()),
                        ..Customer::default()
                    },
                    variables: BTreeMap::new(),
                },
            )
            .unwrap()
    }

    /// The offers made since the last drain: (agent, contact, offer).
    fn offers(&mut self) -> Vec<(String, ContactId, OfferId)> {
        self.drain()
            .into_iter()
            .filter_map(|o| match o {
                Output::Offer(v) => Some((v.agent.0, v.contact, v.offer)),
                _ => None,
            })
            .collect()
    }

    fn state(&self, a: &str) -> AgentState {
        self.cc.agent_state(&a.into()).unwrap()
    }

    fn records(&mut self) -> Vec<&ContactRecord> {
        self.drain();
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Record(r) => Some(r),
                _ => None,
            })
            .collect()
    }
}

fn idle(reason: &str) -> AgentState {
    AgentState::Idle {
        reason: reason.into(),
    }
}

#[test]
fn the_longest_idle_available_agent_is_offered_first() {
    let mut lab = Lab::new(&["a1", "a2", "a3"]);
    lab.available(&["a2", "a1", "a3"]);
    let k1 = lab.call("+12015550101");
    assert_eq!(lab.offers()[0].0, "a2", "a2 has been free longest");
    assert_eq!(lab.state("a2"), AgentState::Reserved);
    let k2 = lab.call("+12015550102");
    assert_eq!(lab.offers()[0].0, "a1");
    assert_ne!(k1, k2);
}

#[test]
fn only_available_agents_with_a_registered_phone_get_calls() {
    let mut lab = Lab::new(&["a1", "a2", "a3"]);
    lab.cc
        .set_state(
            lab.now,
            &"a1".into(),
            Requested::Idle {
                reason: "lunch".into(),
            },
        )
        .unwrap();
    // a2 is available but its phone is not registered.
    lab.cc
        .set_state(lab.now, &"a2".into(), Requested::Available)
        .unwrap();
    lab.drain();
    let k = lab.call("+12015550101");
    assert!(lab.offers().is_empty(), "nobody may take it");
    assert_eq!(lab.cc.waiting(&"voice".into()), [k]);
    lab.cc.set_reachable(lab.now, &"a2".into(), true);
    assert_eq!(
        lab.offers()[0].0,
        "a2",
        "offered once a2's phone registered"
    );
    assert_eq!(lab.state("a1"), idle("lunch"));
    assert_eq!(lab.state("a3"), AgentState::LoggedOut);
}

#[test]
fn an_unknown_idle_reason_is_a_bad_request() {
    let mut lab = Lab::new(&["a1"]);
    let e = lab
        .cc
        .set_state(
            lab.now,
            &"a1".into(),
            Requested::Idle {
                reason: "nap".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(e, CcError::BadRequest(_)), "{e:?}");
}

#[test]
fn rona_puts_the_contact_back_first_and_the_agent_idle_until_available() {
    let mut lab = Lab::new(&["a1", "a2"]);
    lab.available(&["a1"]);
    let k1 = lab.call("+12015550101");
    let (_, _, o1) = lab.offers()[0].clone();
    lab.advance(Duration::from_secs(1));
    let k2 = lab.call("+12015550102");
    assert!(lab.offers().is_empty(), "a1 is reserved");
    lab.advance(RONA);
    let out = lab.drain();
    assert!(out.contains(&Output::Revoke {
        offer: o1,
        contact: k1,
        agent: "a1".into(),
        reason: Revoked::NoAnswer,
    }));
    // The call's agent goes Rona, then Idle with the RONA reason.
    let states: Vec<AgentState> = out
        .iter()
        .filter_map(|o| match o {
            Output::AgentState(c) if c.agent.0 == "a1" => Some(c.state.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(states, [AgentState::Rona, idle(RONA_REASON)]);
    // The older contact is first again, keeping its age.
    assert_eq!(lab.cc.waiting(&"voice".into()), [k1, k2]);
    // No loop: nothing more is offered to a1, however long we wait.
    lab.advance(Duration::from_secs(300));
    assert!(lab.offers().is_empty());
    // The next agent gets the older contact at once.
    lab.available(&["a2"]);
    let offered = lab.out.iter().rev().find_map(|o| match o {
        Output::Offer(v) => Some((v.agent.0.clone(), v.contact)),
        _ => None,
    });
    assert_eq!(offered, Some(("a2".into(), k1)));
    let stats = lab.cc.stats(lab.now);
    let voice = stats.queues.iter().find(|q| q.queue == "voice").unwrap();
    assert_eq!((voice.offered, voice.rona, voice.waiting), (2, 1, 2));
    assert!(voice.oldest_wait_ms >= 300_000);
    assert_eq!(stats.agents.get("reserved"), Some(&1));
    assert_eq!(stats.agents.get("idle"), Some(&1));
    // a1 back to available gets the second.
    lab.cc
        .set_state(lab.now, &"a1".into(), Requested::Available)
        .unwrap();
    assert_eq!(lab.offers()[0], ("a1".into(), k2, lab.offers_last_id()));
}

impl Lab {
    fn offers_last_id(&self) -> OfferId {
        self.out
            .iter()
            .rev()
            .find_map(|o| match o {
                Output::Offer(v) => Some(v.offer),
                _ => None,
            })
            .unwrap()
    }
}

#[test]
fn a_refused_offer_is_handled_like_rona_and_a_late_accept_is_refused() {
    let mut lab = Lab::new(&["a1", "a2"]);
    lab.available(&["a1", "a2"]);
    let k = lab.call("+12015550101");
    let (agent, _, o1) = lab.offers()[0].clone();
    assert_eq!(agent, "a1");
    lab.cc.refuse(lab.now, o1).unwrap();
    let (agent, contact, _) = lab.offers()[0].clone();
    assert_eq!(
        (agent.as_str(), contact),
        ("a2", k),
        "the next agent is offered"
    );
    assert_eq!(lab.state("a1"), idle(RONA_REASON));
    // a1's phone answers after all: too late.
    match lab.cc.accept(lab.now, o1) {
        Err(CcError::Refused { rule, .. }) => assert_eq!(rule, rule::OFFER_GONE),
        r => panic!("{r:?}"),
    }
}

#[test]
fn a_customer_who_hangs_up_while_queued_or_offered_is_abandoned_and_frees_everyone() {
    let mut lab = Lab::new(&["a1"]);
    let queued = lab.call("+12015550101");
    lab.cc.customer_left(lab.now, queued);
    lab.available(&["a1"]);
    assert!(
        lab.offers().is_empty(),
        "an abandoned contact is not offered"
    );

    let offered = lab.call("+12015550102");
    let (_, _, o) = lab.offers()[0].clone();
    lab.cc.customer_left(lab.now, offered);
    let out = lab.drain();
    assert!(out.contains(&Output::Revoke {
        offer: o,
        contact: offered,
        agent: "a1".into(),
        reason: Revoked::Abandoned,
    }));
    assert_eq!(
        lab.state("a1"),
        AgentState::Available,
        "nothing stays reserved"
    );
    let records = lab.records();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.abandoned));
    assert_eq!(
        records[1].offers[0].outcome,
        OfferOutcome::Revoked(Revoked::Abandoned)
    );
    // The next call goes to a1 at once.
    lab.call("+12015550103");
    assert_eq!(lab.offers().len(), 1);
}

#[test]
fn logging_out_is_refused_while_an_offer_rings_a_contact_is_up_or_a_wrap_up_is_owed() {
    let mut lab = Lab::new(&["a1"]);
    lab.available(&["a1"]);
    let k = lab.call("+12015550101");
    let (_, _, o) = lab.offers()[0].clone();
    let rule_of = |r: Result<(), CcError>| match r {
        Err(CcError::Refused { rule, .. }) => rule,
        r => panic!("{r:?}"),
    };
    let out = lab
        .cc
        .set_state(lab.now, &"a1".into(), Requested::LoggedOut);
    assert_eq!(rule_of(out), rule::OFFER_RINGING);
    lab.cc.accept(lab.now, o).unwrap();
    assert_eq!(lab.state("a1"), AgentState::Busy);
    let out = lab
        .cc
        .set_state(lab.now, &"a1".into(), Requested::LoggedOut);
    assert_eq!(rule_of(out), rule::CONTACT_IN_PROGRESS);
    lab.cc.ended(lab.now, k);
    assert_eq!(lab.state("a1"), AgentState::WrapUp);
    let out = lab
        .cc
        .set_state(lab.now, &"a1".into(), Requested::LoggedOut);
    assert_eq!(rule_of(out), rule::WRAP_UP_PENDING);
    lab.cc
        .wrap_up(lab.now, &"a1".into(), k, vec!["sale".into()])
        .unwrap();
    lab.cc
        .set_state(lab.now, &"a1".into(), Requested::LoggedOut)
        .unwrap();
    assert_eq!(lab.state("a1"), AgentState::LoggedOut);
}

#[test]
fn an_agent_who_logs_out_before_being_chosen_gets_nothing() {
    let mut lab = Lab::new(&["a1", "a2"]);
    lab.available(&["a1", "a2"]);
    lab.cc
        .set_state(lab.now, &"a1".into(), Requested::LoggedOut)
        .unwrap();
    lab.call("+12015550101");
    assert_eq!(lab.offers()[0].0, "a2");
}

#[test]
fn wrap_up_needs_one_reason_from_the_queue_for_a_call_and_frees_the_agent() {
    let mut lab = Lab::new(&["a1"]);
    lab.available(&["a1"]);
    let k1 = lab.call("+12015550101");
    let (_, _, o) = lab.offers()[0].clone();
    lab.cc.accept(lab.now, o).unwrap();
    lab.call("+12015550102");
    assert!(lab.offers().is_empty(), "busy: one call at a time");
    lab.advance(Duration::from_secs(60));
    lab.cc.ended(lab.now, k1);
    lab.advance(Duration::from_secs(7));
    let a1 = AgentId::from("a1");
    for bad in [
        vec![],
        vec!["sale".into(), "callback".into()],
        vec!["nope".into()],
    ] {
        let e = lab.cc.wrap_up(lab.now, &a1, k1, bad).unwrap_err();
        assert!(matches!(e, CcError::BadRequest(_)), "{e:?}");
    }
    assert_eq!(lab.state("a1"), AgentState::WrapUp);
    assert!(lab.offers().is_empty(), "no offers during wrap-up");
    lab.cc
        .wrap_up(lab.now, &a1, k1, vec!["sale".into()])
        .unwrap();
    // Free again: the waiting call is offered.
    assert_eq!(lab.offers().len(), 1);
    let record = lab.records()[0].clone();
    assert_eq!(record.wrap_up, ["sale"]);
    assert_eq!(record.wrap_up_ms, Some(7_000));
    assert_eq!(record.agent, Some(a1.clone()));
    assert!(record.answered_at_unix_ms.is_some() && !record.abandoned);
    let e = lab.cc.wrap_up(lab.now, &a1, k1, vec!["sale".into()]);
    assert!(matches!(
        e,
        Err(CcError::Refused {
            rule: rule::NO_WRAP_UP_OWED,
            ..
        })
    ));
}

#[test]
fn a_wrap_up_timeout_applies_the_default_reason() {
    let mut lab = Lab::new(&["a1"]);
    lab.available(&["a1"]);
    let k = lab.arrive("timed", "+12015550101");
    let (_, _, o) = lab.offers()[0].clone();
    lab.cc.accept(lab.now, o).unwrap();
    lab.cc.ended(lab.now, k);
    lab.advance(Duration::from_secs(19));
    assert_eq!(lab.state("a1"), AgentState::WrapUp);
    lab.advance(Duration::from_secs(1));
    assert_eq!(lab.state("a1"), AgentState::Available);
    let r = lab.records()[0];
    assert_eq!(r.wrap_up, ["no-sale"]);
    assert!(r.wrap_up_timed_out);
}

#[test]
fn idle_asked_during_a_contact_applies_after_its_wrap_up() {
    let mut lab = Lab::new(&["a1"]);
    lab.available(&["a1"]);
    let k = lab.call("+12015550101");
    let (_, _, o) = lab.offers()[0].clone();
    lab.cc.accept(lab.now, o).unwrap();
    lab.cc
        .set_state(
            lab.now,
            &"a1".into(),
            Requested::Idle {
                reason: "training".into(),
            },
        )
        .unwrap();
    assert_eq!(lab.state("a1"), AgentState::Busy);
    lab.cc.ended(lab.now, k);
    lab.cc
        .wrap_up(lab.now, &"a1".into(), k, vec!["callback".into()])
        .unwrap();
    assert_eq!(lab.state("a1"), idle("training"));
    lab.call("+12015550102");
    assert!(lab.offers().is_empty());
    let history: Vec<AgentState> = lab
        .cc
        .history(&"a1".into())
        .into_iter()
        .map(|c| c.state)
        .collect();
    assert_eq!(
        history,
        [
            AgentState::Available,
            AgentState::Reserved,
            AgentState::Busy,
            AgentState::WrapUp,
            idle("training")
        ]
    );
}

#[test]
fn two_contacts_and_one_agent_are_served_in_order() {
    let mut lab = Lab::new(&["a1"]);
    let k1 = lab.call("+12015550101");
    lab.now += Duration::from_secs(1);
    let k2 = lab.call("+12015550102");
    lab.available(&["a1"]);
    let first = lab.out.iter().find_map(|o| match o {
        Output::Offer(v) => Some(v.contact),
        _ => None,
    });
    assert_eq!(first, Some(k1));
    let o = lab.offers_last_id();
    lab.cc.accept(lab.now, o).unwrap();
    lab.cc.ended(lab.now, k1);
    lab.cc
        .wrap_up(lab.now, &"a1".into(), k1, vec!["sale".into()])
        .unwrap();
    assert_eq!(lab.offers()[0].1, k2);
}

#[test]
fn chats_fill_an_agents_capacity_and_spread_by_idle_time() {
    let mut lab = Lab::new(&["a1", "a2"]);
    lab.available(&["a1", "a2"]);
    for n in 0..7 {
        lab.arrive("chat", &format!("chat-{n}"));
        lab.now += Duration::from_millis(10);
    }
    let offers = lab.offers();
    let per = |a: &str| offers.iter().filter(|o| o.0 == a).count();
    assert_eq!((per("a1"), per("a2")), (3, 3), "capacity 3 each");
    assert_eq!(lab.cc.waiting(&"chat".into()).len(), 1);
    // A call can still be offered beside chats (blended).
    lab.call("+12015550101");
    assert_eq!(lab.offers().len(), 1);
    // The pending list: chats first, then the call; accept-all takes the chats.
    let agent = lab.out.iter().rev().find_map(|o| match o {
        Output::Offer(v) => Some(v.agent.clone()),
        _ => None,
    });
    let agent = agent.unwrap();
    let pending = lab.cc.pending_offers(&agent);
    let channels: Vec<Channel> = pending.iter().map(|o| o.channel).collect();
    assert_eq!(
        channels,
        [Channel::Chat, Channel::Chat, Channel::Chat, Channel::Voice]
    );
    assert_eq!(lab.cc.accept_all_digital(lab.now, &agent).len(), 3);
    assert_eq!(
        lab.cc.pending_offers(&agent).len(),
        1,
        "the call still rings"
    );
}

#[test]
fn the_offer_shows_the_masked_number_and_only_public_offer_variables() {
    let mut lab = Lab::new(&["a1"]);
    lab.available(&["a1"]);
    let vars: BTreeMap<String, String> = [
        ("account", "A-77"),
        ("pin", "1234"),
        ("tier", "gold"),
        ("notes", "long story"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    lab.cc
        .arrive(
            lab.now,
            Arrival {
                queue: "voice".into(),
                entry_point: None,
                customer: Customer {
                    number: Some("+1 201 555 0147".into()),
                    email: Some("c@example.com".into()),
                    ..Customer::default()
                },
                variables: vars,
            },
        )
        .unwrap();
    let view = lab
        .drain()
        .into_iter()
        .find_map(|o| match o {
            Output::Offer(v) => Some(v),
            _ => None,
        })
        .unwrap();
    assert_eq!(view.customer, "…0147");
    assert_eq!(view.email.as_deref(), Some("c@example.com"));
    assert_eq!(
        view.variables,
        [
            ("account".to_string(), "A-77".to_string()),
            ("tier".to_string(), "gold".to_string())
        ]
    );
    assert_eq!(view.queue_name, "voice queue");
    // A display name that is a number is masked too; a real name is not.
    let named = |name: &str| Customer {
        name: Some(name.into()),
        ..Customer::default()
    };
    assert_eq!(customer_label(&named("(201) 555-0199"), true), "…0199");
    assert_eq!(customer_label(&named("Ada Lovelace"), true), "Ada Lovelace");
    assert_eq!(customer_label(&named("2015550199"), false), "2015550199");
}

/// Many random steps over three agents and two queues: a contact is never
/// offered to two agents at once, an agent never holds two calls (offered
/// or connected), only available agents get offers, and nothing is lost.
#[test]
fn random_races_keep_every_invariant() {
    let mut lab = Lab::new(&["a1", "a2", "a3"]);
    let agents = ["a1", "a2", "a3"];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut arrived = 0;
    let mut offered_to: HashMap<ContactId, String> = HashMap::new();
    let mut connected: HashMap<ContactId, String> = HashMap::new();
    for step in 0..5_000 {
        let a = AgentId::from(agents[rnd(3) as usize]);
        match rnd(10) {
            0 => {
                lab.call(&format!("+1201555{step:04}"));
                arrived += 1;
            }
            1 => {
                lab.arrive("chat", &format!("chat-{step}"));
                arrived += 1;
            }
            2 => {
                let r = match rnd(3) {
                    0 => Requested::Available,
                    1 => Requested::LoggedOut,
                    _ => Requested::Idle {
                        reason: "lunch".into(),
                    },
                };
                let _ = lab.cc.set_state(lab.now, &a, r);
            }
            3 => lab.cc.set_reachable(lab.now, &a, rnd(4) != 0),
            4 => {
                if let Some(o) = lab.cc.pending_offers(&a).first().map(|o| o.offer) {
                    let _ = lab.cc.accept(lab.now, o);
                }
            }
            5 => {
                if let Some(o) = lab.cc.pending_offers(&a).first().map(|o| o.offer) {
                    let _ = lab.cc.refuse(lab.now, o);
                }
            }
            6 => {
                if let Some((&k, _)) = connected.iter().next() {
                    lab.cc.ended(lab.now, k);
                }
            }
            7 => {
                let waiting: Vec<ContactId> = ["voice", "chat"]
                    .iter()
                    .flat_map(|q| lab.cc.waiting(&(*q).into()))
                    .chain(offered_to.keys().copied())
                    .collect();
                if !waiting.is_empty() {
                    let k = waiting[rnd(waiting.len() as u64) as usize];
                    lab.cc.customer_left(lab.now, k);
                }
            }
            8 => {
                let owed: Vec<ContactId> = lab
                    .cc
                    .agents
                    .get(&a)
                    .map(|x| x.wrap_ups.clone())
                    .unwrap_or_default();
                if let Some(k) = owed.first() {
                    lab.cc
                        .wrap_up(lab.now, &a, *k, vec!["sale".into()])
                        .unwrap();
                }
            }
            _ => lab.advance(Duration::from_secs(rnd(20))),
        }
        for o in lab.drain() {
            match o {
                Output::Offer(v) => {
                    let prev = offered_to.insert(v.contact, v.agent.0.clone());
                    assert!(prev.is_none(), "step {step}: {} offered twice", v.contact);
                    assert!(!connected.contains_key(&v.contact));
                }
                Output::Revoke { contact, .. } => {
                    assert!(offered_to.remove(&contact).is_some());
                }
                Output::Assigned { contact, agent, .. } => {
                    assert_eq!(offered_to.remove(&contact), Some(agent.0.clone()));
                    connected.insert(contact, agent.0);
                }
                Output::Record(r) => {
                    connected.remove(&r.id);
                    offered_to.remove(&r.id);
                }
                Output::AgentState(_) => {}
            }
        }
        // Contacts that ended wait for their wrap-up: not connected any more.
        connected.retain(|k, _| {
            lab.cc
                .contacts
                .get(k)
                .is_some_and(|c| c.stage == Stage::Connected)
        });
        for id in agents {
            let rt = &lab.cc.agents[&AgentId::from(id)];
            let calls = rt.offered[Channel::Voice.index()] + rt.active[Channel::Voice.index()];
            assert!(calls <= 1, "step {step}: {id} holds {calls} calls");
            assert!(rt.offered[Channel::Chat.index()] + rt.active[Channel::Chat.index()] <= 3);
            if !rt.offers.is_empty() {
                assert!(
                    rt.presence != Presence::LoggedOut,
                    "step {step}: a logged-out agent holds an offer"
                );
            }
        }
    }
    // Every contact is somewhere: waiting, offered, connected, in wrap-up or recorded.
    let live: BTreeSet<ContactId> = lab.cc.contacts.keys().copied().collect();
    assert_eq!(live.len() + lab.records().len(), arrived);
    assert!(lab.records().len() > 100, "the run did something");
}

#[test]
fn an_agent_in_a_call_of_their_own_gets_no_call_offer_until_it_ends() {
    let mut lab = Lab::new(&["a1", "a2"]);
    lab.available(&["a1", "a2"]);
    lab.cc.set_engaged(lab.now, &"a1".into(), true);
    assert_eq!(lab.state("a1"), AgentState::Busy);
    lab.call("+12015550101");
    assert_eq!(lab.offers()[0].0, "a2", "a1 is on a direct call");
    lab.call("+12015550102");
    assert!(lab.offers().is_empty(), "nobody else may take it");
    lab.cc.set_engaged(lab.now, &"a1".into(), false);
    assert_eq!(lab.offers()[0].0, "a1", "free again when the call ends");
    // Chats still reach an agent on a call.
    lab.cc.set_engaged(lab.now, &"a2".into(), true);
    lab.arrive("chat", "chat-1");
    assert_eq!(lab.offers().len(), 1);
}
