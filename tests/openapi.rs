//! `openapi.yaml` against the code it documents. Everything is read from the source
//! text at test time (the router's `.route(...)` calls, the action parser's match arms,
//! the refusal rule ids, the serde shapes), so a route, action, rule or field added on
//! one side only fails here instead of leaving the document silently wrong.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The spec as JSON. Status codes must be quoted keys (`'200':`), as OpenAPI asks, or
/// this fails: JSON objects have string keys only.
fn spec() -> Value {
    serde_norway::from_str(&read("openapi.yaml")).expect("openapi.yaml parses as YAML/JSON")
}

/// `text[open..]` up to the bracket closing the one at `open` (exclusive).
fn balanced(text: &str, open: usize, (l, r): (char, char)) -> &str {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        if c == l {
            depth += 1;
        } else if c == r {
            depth -= 1;
            if depth == 0 {
                return &text[open + 1..open + i];
            }
        }
    }
    panic!("unbalanced {l}{r} at byte {open}");
}

/// The body of the item whose header (e.g. `pub struct CallView`) is `header`.
fn block<'a>(src: &'a str, header: &str) -> &'a str {
    let at = src
        .find(&format!("{header} "))
        .or_else(|| src.find(&format!("{header}(")))
        .unwrap_or_else(|| panic!("{header:?} not found"));
    let open = at + src[at..].find('{').expect("a block");
    balanced(src, open, ('{', '}'))
}

/// The string literals in `text`, in order (no escapes needed for what we read).
fn literals(text: &str) -> Vec<String> {
    text.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// (path, method) of every `.route("path", get(..).post(..))` in `src`.
fn routes_in(src: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (at, _) in src.match_indices(".route(") {
        let args = balanced(src, at + ".route".len(), ('(', ')'));
        let path = literals(args).into_iter().next().expect("a path literal");
        let rest = &args[args.find(',').expect("a method router")..];
        for m in METHODS {
            let called = rest.match_indices(&format!("{m}(")).any(|(i, _)| {
                !rest[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if called {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

fn documented_routes(spec: &Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_object().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    let s = &spec["components"]["schemas"][name];
    assert!(s.is_object(), "components.schemas.{name} missing");
    s
}

fn properties(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties: {schema}"))
        .keys()
        .cloned()
        .collect()
}

/// The `pub` field names of a Rust struct.
fn fields(src: &str, name: &str) -> BTreeSet<String> {
    block(src, &format!("pub struct {name}"))
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter_map(|l| l.split(':').next())
        .map(|f| f.trim().to_string())
        .collect()
}

/// The variants of a Rust enum as serde names them with `rename_all = "kebab-case"`
/// (or `"snake_case"` when `snake`).
fn variants(src: &str, name: &str, snake: bool) -> BTreeSet<String> {
    let sep = if snake { '_' } else { '-' };
    let body = block(src, &format!("pub enum {name}"));
    let mut depth = 0;
    let mut out = BTreeSet::new();
    for line in body.lines() {
        let t = line.trim();
        if depth == 0 && t.starts_with(|c: char| c.is_ascii_uppercase()) {
            let ident: String = t
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let mut wire = String::new();
            for (i, c) in ident.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    wire.push(sep);
                }
                wire.push(c.to_ascii_lowercase());
            }
            out.insert(wire);
        }
        depth += t.matches('{').count() as i32 - t.matches('}').count() as i32;
    }
    out
}

#[test]
fn every_served_route_is_documented_and_every_documented_route_is_served() {
    // One router per resource, in src/api/.
    let mut served = BTreeSet::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api")).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        served.extend(routes_in(&read(
            rel.to_str().unwrap().trim_start_matches('/'),
        )));
    }
    assert!(
        served.contains(&("/v1/calls".into(), "post".into())),
        "the route parser lost POST /v1/calls: {served:?}"
    );
    let documented = documented_routes(&spec());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}\n\
         in openapi.yaml but not served: {unserved:?}"
    );
}

#[test]
fn the_action_enum_is_what_the_api_parses_and_the_model_names() {
    let spec = spec();
    let documented = strings(&schema(&spec, "Action")["enum"]);

    // The API parses the action path segment with Action's FromStr, which
    // reads back what Action::as_str writes: one list of names.
    let api = read("src/api/calls.rs");
    assert!(
        api.contains("parse::<Action>()"),
        "the API must parse actions with Action::from_str"
    );
    let parser = read("src/callmodel/actions.rs");
    assert!(
        block(&parser, "impl std::str::FromStr for Action").contains("Action::ALL"),
        "Action::from_str must read Action::ALL"
    );
    let model = read("src/callmodel/actions.rs");
    let named: BTreeSet<String> = literals(block(&model, "pub fn as_str"))
        .into_iter()
        .collect();
    assert_eq!(
        documented, named,
        "the spec's Action enum vs Action::as_str"
    );

    let param = &spec["paths"]["/v1/calls/{id}/{action}"]["parameters"];
    let action = param
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "action")
        .expect("the action path parameter");
    assert_eq!(action["schema"]["$ref"], "#/components/schemas/Action");
    let table = action["description"].as_str().unwrap();
    for a in &documented {
        assert!(
            table.contains(&format!("| `{a}` |")),
            "action {a} has no row in the action parameter's table"
        );
    }
}

#[test]
fn the_rule_enum_is_every_refusal_rule_id() {
    let spec = spec();
    let rule = schema(&spec, "Rule");
    let documented = strings(&rule["enum"]);
    let model = read("src/callmodel/actions.rs");
    let ids: BTreeSet<String> = literals(block(&model, "pub mod rule"))
        .into_iter()
        .collect();
    assert!(ids.len() > 20, "rule ids not found: {ids:?}");
    assert_eq!(documented, ids, "the spec's Rule enum vs callmodel::rule");
    let table = rule["description"].as_str().unwrap();
    for id in &ids {
        assert!(
            table.contains(&format!("| `{id}` |")),
            "rule {id} not explained"
        );
    }
}

#[test]
fn request_bodies_and_response_shapes_match_the_serde_types() {
    let spec = spec();
    let pairs = [
        ("ActionArgs", "src/calls/control.rs", "ActionArgs"),
        ("OriginateBody", "src/api/calls.rs", "OriginateBody"),
        ("CallSummary", "src/view.rs", "CallSummary"),
        ("LegSummary", "src/view.rs", "LegSummary"),
        ("LegMedia", "src/view.rs", "LegMedia"),
        ("CallView", "src/callmodel/view.rs", "CallView"),
        ("Party", "src/callmodel/view.rs", "PartyView"),
        ("Registration", "src/view.rs", "RegistrationView"),
        ("Recording", "src/api/recordings.rs", "RecordingView"),
        ("PauseSpan", "src/view.rs", "PauseSpan"),
        ("AgentView", "src/runtime.rs", "AgentView"),
        ("WrapUpBody", "src/api/agents.rs", "WrapUpBody"),
        ("Offer", "src/contact/mod.rs", "OfferView"),
    ];
    for (name, file, rust) in pairs {
        assert_eq!(
            properties(schema(&spec, name)),
            fields(&read(file), rust),
            "schema {name} vs {file} {rust}"
        );
    }
    // Bodies are parsed with deny_unknown_fields.
    for name in ["ActionArgs", "OriginateBody"] {
        assert_eq!(schema(&spec, name)["additionalProperties"], false, "{name}");
    }

    let enums = [
        (
            &schema(&spec, "CallState")["enum"],
            "src/callmodel/state.rs",
            "CallState",
            false,
        ),
        (
            &schema(&spec, "SignallingState")["enum"],
            "src/view.rs",
            "SignallingState",
            true,
        ),
        (
            &schema(&spec, "LegSummary")["properties"]["role"]["enum"],
            "src/view.rs",
            "LegRole",
            true,
        ),
        (
            &schema(&spec, "CallEvent")["properties"]["event"]["enum"],
            "src/callmodel/view.rs",
            "CallEventView",
            false,
        ),
        (
            &schema(&spec, "Party")["properties"]["kind"]["enum"],
            "src/callmodel/view.rs",
            "PartyKindView",
            false,
        ),
        (
            &schema(&spec, "Party")["properties"]["role"]["enum"],
            "src/callmodel/party.rs",
            "Role",
            false,
        ),
    ];
    for (documented, file, rust, snake) in enums {
        assert_eq!(
            strings(documented),
            variants(&read(file), rust, snake),
            "{file} {rust}"
        );
    }
    let recording_states: BTreeSet<String> = schema(&spec, "RecordingState")["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|alt| {
            let s = &alt["properties"]["state"];
            match s.get("const") {
                Some(c) => vec![c.as_str().unwrap().to_string()],
                None => strings(&s["enum"]).into_iter().collect(),
            }
        })
        .collect();
    assert_eq!(
        recording_states,
        variants(&read("src/callmodel/view.rs"), "RecordingView", false)
    );
}

/// Every `$ref` in the document, as a JSON pointer it must resolve.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn refs_resolve_and_every_error_is_documented_as_json() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1."));
    let mut all = Vec::new();
    refs(&spec, &mut all);
    for r in &all {
        let pointer = r.strip_prefix('#').expect("a local $ref");
        assert!(spec.pointer(pointer).is_some(), "unresolved $ref {r}");
    }

    let resolve = |v: &Value| -> Value {
        match v["$ref"].as_str() {
            Some(r) => spec.pointer(&r[1..]).unwrap().clone(),
            None => v.clone(),
        }
    };
    for (route, method) in documented_routes(&spec) {
        let op = &spec["paths"][&route][&method];
        assert!(
            op["operationId"].is_string(),
            "{method} {route}: operationId"
        );
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|c| c.starts_with('2')),
            "{method} {route}: no 2xx"
        );
        for (code, r) in responses {
            if code.starts_with('2') || (route == "/healthz" && code == "503") {
                continue;
            }
            let r = resolve(r);
            let s = &r["content"]["application/json"]["schema"]["$ref"];
            assert!(
                s == "#/components/schemas/Error" || s == "#/components/schemas/Refusal",
                "{method} {route} {code}: errors are JSON {{\"error\": ...}}, got {r}"
            );
        }
    }
    let refusal = &spec["paths"]["/v1/calls/{id}/{action}"]["post"]["responses"]["409"];
    assert_eq!(
        refusal["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Refusal"
    );
}
