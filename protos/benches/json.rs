//! Mesos JSON rendering and parsing on the shapes the master handles most: an OFFERS event
//! (rendered per offer cycle) and an ACCEPT call (parsed per framework reply).
//!
//! `cargo bench -p mesos-protos --bench json`

use criterion::{criterion_group, criterion_main, Criterion};
use mesos_protos::json;
use mesos_protos::mesos::v1::scheduler;
use mesos_protos::v1;
use prost::Message;

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let wrapper: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    wrapper["value"].clone()
}

fn bench(c: &mut Criterion) {
    let offer: v1::Offer = json::from_value(&fixture("offer_multi_role")).unwrap();
    let event = scheduler::Event {
        r#type: Some(scheduler::event::Type::Offers as i32),
        offers: Some(scheduler::event::Offers {
            offers: vec![offer.clone(); 10],
        }),
        ..Default::default()
    };
    let accept_text = serde_json::to_vec(&fixture("scheduler_call_accept")).unwrap();
    let accept_value: serde_json::Value = serde_json::from_slice(&accept_text).unwrap();
    let accept: scheduler::Call = json::from_slice(&accept_text).unwrap();
    let accept_bytes = accept.encode_to_vec();

    let mut group = c.benchmark_group("json");
    group.sample_size(50);
    group.measurement_time(std::time::Duration::from_secs(3));
    group.bench_function("offer_to_vec_fast", |b| b.iter(|| json::to_vec(&offer)));
    group.bench_function("offer_to_value_reference", |b| {
        b.iter(|| json::to_value(&offer))
    });
    group.bench_function("offers_event_10_to_vec", |b| {
        b.iter(|| json::to_vec(&event))
    });
    group.bench_function("accept_call_from_slice", |b| {
        b.iter(|| json::from_slice::<scheduler::Call>(&accept_text).unwrap())
    });
    group.bench_function("accept_call_from_value", |b| {
        b.iter(|| json::from_value::<scheduler::Call>(&accept_value).unwrap())
    });
    group.bench_function("accept_call_value_to_protobuf_reference", |b| {
        b.iter(|| json::value_to_protobuf("mesos.v1.scheduler.Call", &accept_value).unwrap())
    });
    group.bench_function("accept_call_protobuf_decode", |b| {
        b.iter(|| mesos_protos::protobuf::decode::<scheduler::Call>(&accept_bytes).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
