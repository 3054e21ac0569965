use serde_json::json;

use super::*;
use crate::v1;

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value }),
        ..Default::default()
    }
}

#[test]
#[allow(deprecated)] // `Resource.role` is deprecated in the schema, as in Mesos.
fn resource_renders_like_mesos() {
    let mut cpus = scalar("cpus", 0.5);
    cpus.allocation_info = Some(v1::resource::AllocationInfo {
        role: Some("dev".into()),
    });
    assert_eq!(
        to_value(&cpus),
        json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5},
               "allocation_info": {"role": "dev"}})
    );
    // The deprecated `role` default ("*") is not printed; an explicitly set one is.
    cpus.role = Some("*".into());
    assert_eq!(to_value(&cpus)["role"], json!("*"));
}

#[test]
fn doubles_always_render_as_floats() {
    let mem = scalar("mem", 128.0);
    let text = to_string(&mem);
    assert!(text.contains(r#""value":128.0"#), "{text}");
    assert_eq!(to_value(&mem)["scalar"]["value"], json!(128.0));
}

#[test]
fn explicit_defaults_are_emitted_and_presence_is_kept() {
    let image = v1::Image {
        r#type: v1::image::Type::Docker as i32,
        docker: Some(v1::image::Docker {
            name: "library/python:3".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    // Unset with `[default = true]` → printed with the default.
    assert_eq!(to_value(&image)["cached"], json!(true));
    // Explicitly set to the default → printed (presence), and to another value → that value.
    let set_true = v1::Image {
        cached: Some(true),
        ..image.clone()
    };
    assert_eq!(to_value(&set_true)["cached"], json!(true));
    let set_false = v1::Image {
        cached: Some(false),
        ..image
    };
    assert_eq!(to_value(&set_false)["cached"], json!(false));
    // And the parser keeps the presence it saw.
    let back: v1::Image = from_value(&to_value(&set_true)).unwrap();
    assert_eq!(back.cached, Some(true));
}

#[test]
fn ranges_sets_and_u64_numbers() {
    let ports = v1::Resource {
        name: "ports".into(),
        r#type: v1::value::Type::Ranges as i32,
        ranges: Some(v1::value::Ranges {
            range: vec![v1::value::Range {
                begin: 31000,
                end: u64::MAX,
            }],
        }),
        ..Default::default()
    };
    let value = to_value(&ports);
    assert_eq!(
        value["ranges"]["range"][0],
        json!({"begin": 31000, "end": u64::MAX})
    );
    assert_eq!(from_value::<v1::Resource>(&value).unwrap(), ports);
    // Empty repeated fields are omitted.
    let empty_set = v1::Resource {
        name: "disks".into(),
        r#type: v1::value::Type::Set as i32,
        set: Some(v1::value::Set { item: vec![] }),
        ..Default::default()
    };
    assert_eq!(to_value(&empty_set)["set"], json!({}));
}

#[test]
fn bytes_are_base64_both_ways() {
    let secret = v1::Secret {
        r#type: Some(v1::secret::Type::Value as i32),
        value: Some(v1::secret::Value {
            data: vec![0, 1, 2, 250, 255],
        }),
        reference: None,
    };
    let value = to_value(&secret);
    assert_eq!(
        value,
        json!({"type": "VALUE", "value": {"data": "AAEC+v8="}})
    );
    assert_eq!(from_value::<v1::Secret>(&value).unwrap(), secret);
    // Unpadded input is accepted too.
    let unpadded = json!({"type": "VALUE", "value": {"data": "AAEC+v8"}});
    assert_eq!(from_value::<v1::Secret>(&unpadded).unwrap(), secret);
    let bad = json!({"value": {"data": "!!"}});
    let err = from_value::<v1::Secret>(&bad).unwrap_err();
    assert!(
        matches!(&err, JsonError::Base64 { path, .. } if path == "value.data"),
        "{err}"
    );
}

#[test]
#[allow(deprecated)] // reads `Resource.role`
fn parsing_tolerates_what_mesos_tolerates() {
    let value = json!({
        "name": "cpus", "type": "SCALAR",
        "scalar": {"value": "2.5"},          // numeric string
        "role": null,                        // null = unset
        "not_a_field": {"anything": [1, 2]}, // unknown keys ignored
        "reservations": {"type": "NOT_AN_ENUM_VALUE", "role": "dev"} // one element, bad enum dropped
    });
    let r: v1::Resource = from_value(&value).unwrap();
    assert_eq!(r.scalar, Some(v1::value::Scalar { value: 2.5 }));
    assert_eq!(r.role, None);
    assert_eq!(r.reservations.len(), 1);
    assert_eq!(r.reservations[0].r#type, None);
    assert_eq!(r.reservations[0].role.as_deref(), Some("dev"));

    let inf: v1::value::Scalar = from_value(&json!({"value": "Infinity"})).unwrap();
    assert_eq!(inf.value, f64::INFINITY);
    assert_eq!(to_value(&inf), json!({"value": "Infinity"}));
    let neg: v1::value::Scalar = from_value(&json!({"value": "-Infinity"})).unwrap();
    assert_eq!(neg.value, f64::NEG_INFINITY);

    let range: v1::value::Range = from_value(&json!({"begin": "1", "end": 2.0})).unwrap();
    assert_eq!((range.begin, range.end), (1, 2));
    let image: v1::Image = from_value(&json!({"type": "APPC", "cached": "false"})).unwrap();
    assert_eq!(image.cached, Some(false));
}

#[test]
fn errors_name_the_field_and_problem() {
    // Required enum with an unknown name.
    let err = from_value::<v1::Resource>(&json!({"name": "cpus", "type": "SCALARS"})).unwrap_err();
    match &err {
        JsonError::UnknownEnumValue {
            path,
            enum_name,
            value,
        } => {
            assert_eq!(path, "type");
            assert_eq!(enum_name, "mesos.v1.Value.Type");
            assert_eq!(value, "SCALARS");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("SCALARS"));

    // Wrong JSON type, nested path with an index.
    let err = from_value::<v1::Resource>(&json!({
        "name": "ports", "type": "RANGES",
        "ranges": {"range": [{"begin": 1, "end": 2}, {"begin": "x", "end": 3}]}
    }))
    .unwrap_err();
    assert!(
        matches!(&err, JsonError::BadString { path, .. } if path == "ranges.range[1].begin"),
        "{err}"
    );
    let err = from_value::<v1::Resource>(&json!({"name": 5, "type": "SCALAR"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field 'name': expecting a string, got a number"
    );
    let err = from_value::<v1::Resource>(&json!({"name": ["a"], "type": "SCALAR"})).unwrap_err();
    assert!(matches!(&err, JsonError::WrongType { path, found: "an array", .. } if path == "name"));
    let err = from_value::<v1::Resource>(&json!({"name": "x", "type": 0})).unwrap_err();
    assert!(
        matches!(&err, JsonError::WrongType { path, .. } if path == "type"),
        "{err}"
    );

    // Numbers that do not fit.
    for bad in [json!(-1), json!(1.5), json!(1e30)] {
        let err = from_value::<v1::value::Range>(&json!({"begin": bad, "end": 1})).unwrap_err();
        assert!(
            matches!(&err, JsonError::NumberOutOfRange { path, .. } if path == "begin"),
            "{err}"
        );
    }

    // Missing required fields, nested ones by path.
    let err = from_value::<v1::Resource>(&json!({
        "type": "SCALAR", "scalar": {}, "reservations": [{"labels": {"labels": [{"value": "v"}]}}]
    }))
    .unwrap_err();
    match &err {
        JsonError::MissingRequired(fields) => assert_eq!(
            fields,
            &[
                "name",
                "scalar.value",
                "reservations[0].labels.labels[0].key"
            ]
        ),
        other => panic!("unexpected {other}"),
    }
    assert!(err
        .to_string()
        .starts_with("missing required fields: name, "));

    // Not an object, not JSON.
    assert!(matches!(
        from_value::<v1::Resource>(&json!([1])),
        Err(JsonError::NotAnObject {
            found: "an array",
            ..
        })
    ));
    assert!(matches!(
        from_str::<v1::Resource>("{\"name\": "),
        Err(JsonError::Syntax(_))
    ));
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    // Labels inside ... is not recursive in our schema; build recursion through the dynamic
    // API instead: an unknown-key chain is ignored, so use repeated objects in `reservations`.
    let mut value = json!({"name": "x", "type": "SCALAR"});
    for _ in 0..200 {
        value = json!({"name": "x", "type": "SCALAR", "ignored": value});
    }
    // Unknown keys are never walked, so this parses.
    assert!(from_value::<v1::Resource>(&value).is_ok());
}

#[test]
fn dynamic_forms_by_type_name() {
    let cpus = scalar("cpus", 1.0);
    let bytes = prost::Message::encode_to_vec(&cpus);
    let value = protobuf_to_value("mesos.v1.Resource", &bytes).unwrap();
    assert_eq!(value, to_value(&cpus));
    assert_eq!(
        value_to_protobuf("mesos.v1.Resource", &value).unwrap(),
        bytes
    );
    assert!(matches!(
        protobuf_to_value("mesos.v1.Nope", &bytes),
        Err(JsonError::UnknownType(name)) if name == "mesos.v1.Nope"
    ));
    assert!(matches!(
        protobuf_to_value("mesos.v1.Resource", &bytes[..bytes.len() - 1]),
        Err(JsonError::Protobuf { .. })
    ));
}

#[test]
fn to_vec_and_to_value_agree() {
    let mut r = scalar("disk", 1024.0);
    r.disk = Some(v1::resource::DiskInfo {
        persistence: Some(v1::resource::disk_info::Persistence {
            id: "vol-1".into(),
            principal: Some("fw".into()),
        }),
        volume: Some(v1::Volume {
            mode: v1::volume::Mode::Rw as i32,
            container_path: "data".into(),
            ..Default::default()
        }),
        source: None,
    });
    let parsed: serde_json::Value = serde_json::from_slice(&to_vec(&r)).unwrap();
    assert_eq!(parsed, to_value(&r));
    assert_eq!(from_slice::<v1::Resource>(&to_vec(&r)).unwrap(), r);
}

#[test]
fn doubles_round_trip_bit_exact_through_text() {
    for value in [
        0.1 + 0.2,
        1.0 / 3.0,
        2.0_f64.sqrt(),
        1e-300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        123_456_789.123_456_78,
        -0.0,
    ] {
        let scalar = v1::value::Scalar { value };
        let back: v1::value::Scalar = from_slice(&to_vec(&scalar)).unwrap();
        assert_eq!(back.value.to_bits(), value.to_bits(), "{value:e}");
    }
}

#[test]
fn random_doubles_round_trip_bit_exact() {
    // Needs serde_json's `float_roundtrip`: without it about a third of these come back
    // one ulp off.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut checked = 0;
    while checked < 20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let value = f64::from_bits(x);
        if !value.is_finite() {
            continue;
        }
        let scalar = v1::value::Scalar { value };
        let back: v1::value::Scalar = from_slice(&to_vec(&scalar)).unwrap();
        assert_eq!(back.value.to_bits(), value.to_bits(), "{value:e}");
        checked += 1;
    }
}

/// The fast writer (`to_vec`) and the reference serializer (`to_value`) are independent
/// implementations; on every fixture the fast one must handle the message and agree.
#[test]
fn fast_writer_agrees_with_reference_on_all_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let wrapper: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let type_name = wrapper["type"].as_str().unwrap();
        let bytes = value_to_protobuf(type_name, &wrapper["value"]).unwrap();
        let mut fast = Vec::new();
        assert!(
            writer::write(type_name, &bytes, &mut fast).is_some(),
            "{}: fast writer fell back",
            path.display()
        );
        let fast: serde_json::Value = serde_json::from_slice(&fast).unwrap();
        assert_eq!(
            fast,
            protobuf_to_value(type_name, &bytes).unwrap(),
            "{}",
            path.display()
        );
        count += 1;
    }
    assert!(count >= 25);
}

#[test]
fn fast_writer_edge_cases_match_reference() {
    // Unknown enum numbers, non-finite doubles, unknown fields, maps with odd keys.
    let mut scalar_inf = Vec::new();
    prost::Message::encode(
        &v1::value::Scalar {
            value: f64::NEG_INFINITY,
        },
        &mut scalar_inf,
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // Resource with type = 9 (no such Value.Type) and an unknown field 99.
        (
            "mesos.v1.Resource",
            vec![0x0a, 0x01, b'x', 0x10, 0x09, 0x98, 0x06, 0x01],
        ),
        ("mesos.v1.Value.Scalar", scalar_inf),
        // FrameworkInfo.Capability list with one unknown and one known type.
        (
            "mesos.v1.FrameworkInfo",
            vec![
                0x0a, 0x00, 0x12, 0x00, 0x52, 0x02, 0x08, 0x63, 0x52, 0x02, 0x08, 0x06,
            ],
        ),
        // offer_filters map: an entry without a key, and a duplicate key (last wins).
        (
            "mesos.v1.FrameworkInfo",
            vec![
                0x0a, 0x00, 0x12, 0x00, 0x6a, 0x02, 0x12, 0x00, 0x6a, 0x05, 0x0a, 0x01, b'a', 0x12,
                0x00, 0x6a, 0x07, 0x0a, 0x01, b'a', 0x12, 0x02, 0x0a, 0x00,
            ],
        ),
    ];
    for (type_name, bytes) in cases {
        let mut fast = Vec::new();
        writer::write(type_name, &bytes, &mut fast).expect("fast path handles it");
        let fast: serde_json::Value = serde_json::from_slice(&fast).unwrap();
        assert_eq!(
            fast,
            protobuf_to_value(type_name, &bytes).unwrap(),
            "{type_name}"
        );
    }
    // Out-of-order fields are not prost's output: the fast path declines, the public
    // function still answers through the reference path.
    let reversed = vec![0x10, 0x00, 0x0a, 0x01, b'x'];
    assert!(writer::write("mesos.v1.Resource", &reversed, &mut Vec::new()).is_none());
    let text = protobuf_to_vec("mesos.v1.Resource", &reversed).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&text).unwrap(),
        json!({"name": "x", "type": "SCALAR"})
    );
}

/// The fast JSON encoder must handle every fixture, agreeing with the reference parser.
#[test]
fn fast_encoder_agrees_with_reference_on_all_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let wrapper: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let type_name = wrapper["type"].as_str().unwrap();
        let fast = encoder::encode(type_name, &wrapper["value"])
            .unwrap_or_else(|| panic!("{}: fast encoder deferred", path.display()));
        let reference = value_to_protobuf(type_name, &wrapper["value"]).unwrap();
        // Field order differs (JSON key order vs field numbers): compare decoded.
        let desc = message_descriptor(type_name).unwrap();
        let a = DynamicMessage::decode(desc.clone(), fast.as_slice()).unwrap();
        let b = DynamicMessage::decode(desc, reference.as_slice()).unwrap();
        assert_eq!(a, b, "{}", path.display());
    }
}

/// Lenient-but-valid inputs go through the fast encoder with the reference's result;
/// inputs the reference rejects make the fast encoder defer.
#[test]
fn fast_encoder_accepts_and_defers_like_reference() {
    let accepted = [
        (
            "mesos.v1.Resource",
            json!({"name": "cpus", "type": "SCALAR",
            "scalar": {"value": "2.5"}, "role": null, "unknown": [1],
            "reservations": {"type": "NOPE", "role": "dev"}}),
        ),
        ("mesos.v1.Value.Scalar", json!({"value": "-Infinity"})),
        ("mesos.v1.Value.Range", json!({"begin": "1", "end": 2.0})),
        ("mesos.v1.Image", json!({"type": "APPC", "cached": "false"})),
        (
            "mesos.v1.Secret",
            json!({"type": "VALUE", "value": {"data": "AAEC+v8"}}),
        ),
        (
            "mesos.v1.FrameworkInfo",
            json!({"user": "u", "name": "n",
            "capabilities": [{"type": "MULTI_ROLE"}, null, {"type": "NOT_A_CAPABILITY"}],
            "offer_filters": [{"a": {}}, {"b": null, "a": {"min_allocatable_resources": {}}}]}),
        ),
        (
            "mesos.v1.HealthCheck",
            json!({"consecutive_failures": 4.0,
            "http": {"port": 80, "protocol": "IPv9", "statuses": 200}}),
        ),
    ];
    for (type_name, value) in accepted {
        let fast = encoder::encode(type_name, &value).unwrap_or_else(|| panic!("deferred {value}"));
        let reference = value_to_protobuf(type_name, &value).unwrap();
        let desc = message_descriptor(type_name).unwrap();
        assert_eq!(
            DynamicMessage::decode(desc.clone(), fast.as_slice()).unwrap(),
            DynamicMessage::decode(desc, reference.as_slice()).unwrap(),
            "{value}"
        );
    }
    let rejected = [
        ("mesos.v1.Resource", json!({"name": "cpus"})),
        (
            "mesos.v1.Resource",
            json!({"name": "cpus", "type": "SCALARS"}),
        ),
        (
            "mesos.v1.Resource",
            json!({"name": ["cpus"], "type": "SCALAR"}),
        ),
        ("mesos.v1.Value.Range", json!({"begin": -1, "end": 1})),
        ("mesos.v1.Value.Range", json!({"begin": 1.5, "end": 1})),
        ("mesos.v1.Secret", json!({"value": {"data": "%%"}})),
        ("mesos.v1.Image", json!({"type": "APPC", "cached": "yes"})),
        ("mesos.v1.Value.Scalar", json!({"value": true})),
        ("mesos.v1.Value.Scalar", json!([])),
        ("mesos.v1.Nope", json!({})),
        // A null map value whose message type has required fields.
        (
            "mesos.v1.OfferFilters.ResourceQuantities",
            json!({"quantities": {"cpus": null}}),
        ),
        (
            "mesos.v1.Resource",
            json!({"name": "x", "type": "SCALAR", "scalar": {}}),
        ),
    ];
    for (type_name, value) in rejected {
        assert!(encoder::encode(type_name, &value).is_none(), "{value}");
        assert!(value_to_protobuf(type_name, &value).is_err(), "{value}");
    }
}

/// prost leaves a map value equal to its default out of the encoding; a `Value.Scalar`
/// of 0.0 must still render (and check) as `{"value":0.0}`. Found by the fuzzer.
#[test]
fn zero_map_values_survive_prost_encoding() {
    let value = json!({"user": "u", "name": "n", "failover_timeout": 0.0, "checkpoint": false,
        "offer_filters": {"dev": {"min_allocatable_resources": {"quantities": [
            {"quantities": {"cpus": {"value": 0.0}, "mem": {"value": 128.0}}}]}}}});
    let info: v1::FrameworkInfo = from_value(&value).unwrap();
    let bytes = prost::Message::encode_to_vec(&info);
    assert_eq!(to_value(&info), value);
    let text: serde_json::Value = serde_json::from_slice(&to_vec(&info)).unwrap();
    assert_eq!(text, value);
    assert_eq!(
        protobuf_to_value("mesos.v1.FrameworkInfo", &bytes).unwrap(),
        value
    );
    let checked: v1::FrameworkInfo = crate::protobuf::decode_checked(&bytes).unwrap();
    assert_eq!(checked, info);

    // A map value present but empty (not prost's output): the fast writer defers and the
    // reference path restores the required field the same way.
    let mut quantities = Vec::new();
    // ResourceQuantities { quantities: {"cpus": <empty Scalar>} }
    quantities.extend([0x0a, 0x08, 0x0a, 0x04, b'c', b'p', b'u', b's', 0x12, 0x00]);
    let mut out = Vec::new();
    assert!(writer::write(
        "mesos.v1.OfferFilters.ResourceQuantities",
        &quantities,
        &mut out
    )
    .is_none());
    let text = protobuf_to_vec("mesos.v1.OfferFilters.ResourceQuantities", &quantities).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&text).unwrap(),
        json!({"quantities": {"cpus": {"value": 0.0}}})
    );
}
