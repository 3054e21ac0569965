//! Malformed JSON and protobuf input: each returns a typed error naming the problem.

use mesos_protos::json::{self, JsonError};
use mesos_protos::mesos::v1::{self, scheduler};
use mesos_protos::protobuf::{self, ProtobufError};
use prost::Message;
use serde_json::json;

fn subscribe_call() -> serde_json::Value {
    json!({
        "type": "SUBSCRIBE",
        "subscribe": {"framework_info": {"user": "root", "name": "fw",
                                         "capabilities": [{"type": "MULTI_ROLE"}]}}
    })
}

#[test]
fn bad_json_text_is_a_syntax_error() {
    for text in [
        "",
        "{",
        "{\"type\": }",
        "[1,]",
        "{\"type\": \"SUBSCRIBE\"} trailing",
    ] {
        let err = json::from_str::<scheduler::Call>(text).unwrap_err();
        assert!(matches!(err, JsonError::Syntax(_)), "{text:?}: {err}");
        assert!(err.to_string().starts_with("invalid json: "), "{err}");
    }
    let err = json::from_slice::<scheduler::Call>(b"\xff\xfe").unwrap_err();
    assert!(matches!(err, JsonError::Syntax(_)));
}

#[test]
fn top_level_must_be_an_object() {
    let err = json::from_str::<scheduler::Call>("[]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "expecting a json object for 'mesos.v1.scheduler.Call', got an array"
    );
}

#[test]
fn unknown_enum_names_optional_dropped_required_rejected() {
    // Optional enums: the value is dropped, like protobuf does with unknown values.
    let mut call = subscribe_call();
    call["type"] = json!("NOT_A_CALL");
    call["subscribe"]["framework_info"]["capabilities"][0]["type"] = json!("TELEPORT");
    let parsed: scheduler::Call = json::from_value(&call).unwrap();
    assert_eq!(parsed.r#type, None);
    let caps = &parsed.subscribe.unwrap().framework_info.capabilities;
    assert_eq!(caps.len(), 1);
    assert_eq!(caps[0].r#type, None);

    // Required enums: an error naming the path, the enum and the value.
    let call = json!({
        "type": "ACCEPT",
        "accept": {"operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": "t", "task_id": {"value": "t"}, "agent_id": {"value": "a"},
            "resources": [{"name": "cpus", "type": "SCALAR"}, {"name": "mem", "type": "FLOAT"}]
        }]}}]}
    });
    let err = json::from_value::<scheduler::Call>(&call).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field 'accept.operations[0].launch.task_infos[0].resources[1].type': \
         unknown value 'FLOAT' of enum 'mesos.v1.Value.Type'"
    );
}

#[test]
fn wrong_json_types_name_the_field() {
    let cases = [
        (
            json!({"framework_id": "abc"}),
            "framework_id",
            "an object",
            "a string",
        ),
        (
            json!({"type": 3}),
            "type",
            "an enum name string",
            "a number",
        ),
        (
            json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
                "user": "u", "name": "n", "checkpoint": "yes"}}}),
            "subscribe.framework_info.checkpoint",
            "",
            "",
        ),
        (
            json!({"decline": {"filters": {"refuse_seconds": true}}}),
            "decline.filters.refuse_seconds",
            "a number",
            "a boolean",
        ),
        (
            json!({"revive": {"roles": [1]}}),
            "revive.roles[0]",
            "a string",
            "a number",
        ),
        (
            json!({"framework_id": {"value": ["x"]}}),
            "framework_id.value",
            "a string",
            "an array",
        ),
        (
            json!({"acknowledge": {"uuid": "%%%"}}),
            "acknowledge.uuid",
            "",
            "",
        ),
    ];
    for (value, path, expected, found) in cases {
        let err = json::from_value::<scheduler::Call>(&value).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&format!("field '{path}': ")), "{text}");
        if !expected.is_empty() {
            assert!(
                matches!(&err, JsonError::WrongType { expected: e, found: f, .. }
                         if *e == expected && *f == found),
                "{text}"
            );
        }
    }
}

#[test]
fn numbers_out_of_range_are_rejected() {
    for (begin, why) in [
        (json!(-1), "negative uint64"),
        (json!(2.5), "fractional"),
        (json!(1.0e20), "past u64"),
        (json!("12x"), "not a number"),
    ] {
        let value = json!({"name": "ports", "type": "RANGES",
                           "ranges": {"range": [{"begin": begin, "end": 5}]}});
        let err = json::from_value::<v1::Resource>(&value).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("field 'ranges.range[0].begin': "),
            "{why}: {err}"
        );
    }
    let err = json::from_value::<v1::MasterInfo>(
        &json!({"id": "m", "ip": 4_294_967_296_u64, "port": 5050}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "field 'ip': number 4294967296 cannot be stored in a uint32"
    );
}

#[test]
fn missing_required_fields_are_listed_by_path() {
    let call = json!({
        "type": "SUBSCRIBE",
        "subscribe": {"framework_info": {"name": "fw",
                                         "labels": {"labels": [{"value": "v"}]}}}
    });
    let err = json::from_value::<scheduler::Call>(&call).unwrap_err();
    match &err {
        JsonError::MissingRequired(fields) => assert_eq!(
            fields,
            &[
                "subscribe.framework_info.user",
                "subscribe.framework_info.labels.labels[0].key"
            ]
        ),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        err.to_string(),
        "missing required fields: subscribe.framework_info.user, \
         subscribe.framework_info.labels.labels[0].key"
    );
    // `null` counts as unset.
    let err = json::from_value::<v1::TaskId>(&json!({"value": null})).unwrap_err();
    assert!(matches!(err, JsonError::MissingRequired(f) if f == ["value"]));
}

#[test]
fn unknown_type_names_in_the_dynamic_api() {
    let err = json::value_to_protobuf("mesos.v1.NoSuchThing", &json!({})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown message type 'mesos.v1.NoSuchThing'"
    );
}

fn encoded_call() -> Vec<u8> {
    let call: scheduler::Call = json::from_value(&subscribe_call()).unwrap();
    call.encode_to_vec()
}

#[test]
fn truncated_protobuf_is_reported_with_offset() {
    let bytes = encoded_call();
    // Every strict prefix that cuts into a field must fail, never panic.
    for cut in 1..bytes.len() {
        let result = protobuf::decode::<scheduler::Call>(&bytes[..cut]);
        if let Err(err) = result {
            assert!(
                err.to_string().contains("mesos.v1.scheduler.Call"),
                "cut {cut}: {err}"
            );
        }
    }
    // Cutting inside the `subscribe` message (field 3, starts after `type`) is truncation.
    let err = protobuf::decode::<scheduler::Call>(&bytes[..bytes.len() - 3]).unwrap_err();
    match &err {
        ProtobufError::Truncated {
            type_name,
            offset,
            needed,
            available,
        } => {
            assert_eq!(type_name, "mesos.v1.scheduler.Call");
            assert_eq!(
                *offset, 2,
                "the subscribe field's tag follows `type` (2 bytes)"
            );
            assert_eq!(needed - available, 3);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err
        .to_string()
        .starts_with("truncated mesos.v1.scheduler.Call: "));
}

#[test]
fn bad_varints_tags_and_nested_garbage() {
    let err = protobuf::decode::<scheduler::Call>(&[0x10, 0xff, 0xff]).unwrap_err();
    assert!(
        matches!(err, ProtobufError::InvalidVarint { offset: 1, .. }),
        "{err}"
    );
    let mut eleven = vec![0x10];
    eleven.extend([0xff; 11]);
    let err = protobuf::decode::<scheduler::Call>(&eleven).unwrap_err();
    assert!(matches!(err, ProtobufError::InvalidVarint { .. }), "{err}");
    // Field number 0 and wire type 7 are invalid tags.
    let err = protobuf::decode::<scheduler::Call>(&[0x00, 0x01]).unwrap_err();
    assert!(
        matches!(
            err,
            ProtobufError::InvalidTag {
                tag: 0,
                offset: 0,
                ..
            }
        ),
        "{err}"
    );
    let err = protobuf::decode::<scheduler::Call>(&[0x0f]).unwrap_err();
    assert!(
        matches!(err, ProtobufError::InvalidTag { tag: 0x0f, .. }),
        "{err}"
    );
    // Well-formed outside, garbage inside `framework_id` (field 1): prost's error, typed.
    let err = protobuf::decode::<scheduler::Call>(&[0x0a, 0x02, 0xff, 0xff]).unwrap_err();
    match &err {
        ProtobufError::Malformed { type_name, .. } => {
            assert_eq!(type_name, "mesos.v1.scheduler.Call")
        }
        other => panic!("unexpected {other}"),
    }
    // A string field holding invalid UTF-8.
    let err = protobuf::decode::<v1::TaskId>(&[0x0a, 0x01, 0xff]).unwrap_err();
    assert!(matches!(err, ProtobufError::Malformed { .. }), "{err}");
}

#[test]
fn decode_checked_requires_required_fields() {
    // An empty buffer is a valid `TaskID` for prost, but Mesos (C++) rejects it.
    assert!(protobuf::decode::<v1::TaskId>(&[]).is_ok());
    let err = protobuf::decode_checked::<v1::TaskId>(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mesos.v1.TaskID is missing required fields: value"
    );
    let ok: v1::TaskId = protobuf::decode_checked(&[0x0a, 0x01, b'x']).unwrap();
    assert_eq!(ok.value, "x");
}
