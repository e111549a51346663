//! Rough cost of one issuance decision (ignored by default; run with `--ignored --nocapture`,
//! preferably `--release`). Prints, never asserts: the benchmark in `bench/` is the measure.

use std::time::Instant;

use crate::authorize::authorize_issuance;
use crate::compile::CompiledSet;
use crate::issuance::Issuance;
use crate::testing::{app, resource, scopes, set_with, user};

fn customer(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let text = if i % 10 == 9 {
                format!("forbid(principal, action, resource) when {{ resource.identifier == \"https://r{i}.example.com\" }};")
            } else {
                format!("permit(principal is Keycard::Application, action, resource) when {{ principal.identifier == \"urn:app:{i}\" && context.scopes.contains(\"s{i}\") }};")
            };
            (format!("customer-{i}"), text)
        })
        .collect()
}

fn per_decision(set: &CompiledSet, issuance: &Issuance) -> f64 {
    let rounds = 2_000u32;
    for _ in 0..100 {
        std::hint::black_box(authorize_issuance(set, issuance));
    }
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(authorize_issuance(set, issuance));
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

#[test]
#[ignore = "timing print, run on demand"]
fn print_authorize_cost() {
    let direct = Issuance::direct(app(), resource(), scopes(&["read"]));
    let delegated = Issuance::on_behalf(app(), user(), resource(), scopes(&["read"]));
    for n in [0usize, 10, 100, 1_000] {
        let policies = customer(n);
        let refs: Vec<(&str, &str)> = policies
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let compiling = Instant::now();
        let set = set_with(1, false, &refs);
        let compiled_ms = compiling.elapsed().as_secs_f64() * 1e3;
        println!(
            "defaults + {n:>5} customer policies: compile {compiled_ms:8.1} ms, client_credentials {:7.2} µs, on behalf (2 evaluations) {:7.2} µs",
            per_decision(&set, &direct),
            per_decision(&set, &delegated),
        );
    }
}

#[test]
#[ignore = "timing print, run on demand"]
fn print_cost_breakdown() {
    use crate::request::{Principal, cedar_request, entities};
    let set = set_with(1, false, &[]);
    let issuance = Issuance::direct(app(), resource(), scopes(&["read"]));
    let principals: Vec<&Principal> = issuance.principals.iter().collect();
    let rounds = 20_000u32;
    let time = |label: &str, f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..rounds {
            f();
        }
        println!(
            "{label:>12}: {:6.2} µs",
            start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
        );
    };
    time("entities", &|| {
        std::hint::black_box(entities(&principals, &issuance.resource).ok());
    });
    time("context", &|| {
        std::hint::black_box(issuance.context.to_cedar(&issuance.context.scopes));
    });
    let ents = entities(&principals, &issuance.resource).expect("entities");
    let ctx = issuance.context.to_cedar(&issuance.context.scopes);
    let p = principals[0].uid().expect("uid");
    let a = issuance.action.uid().expect("uid");
    let r = issuance.resource.uid().expect("uid");
    let req = cedar_request(p, a, r, ctx);
    let authorizer = cedar_policy::Authorizer::new();
    time("is_authorized", &|| {
        std::hint::black_box(authorizer.is_authorized(
            &req,
            set.policies_for(crate::compile::PrincipalKind::Application),
            &ents,
        ));
    });
    time("whole", &|| {
        std::hint::black_box(authorize_issuance(&set, &issuance));
    });
}
