//! Parsing of Mesos's resource text and JSON forms, and validation error texts.

use mesos_protos::resources::text::parse_value;
use mesos_protos::resources::validation::{
    is_strict_subrole_of, validate_resource, validate_resources, validate_role,
};
use mesos_protos::resources::{
    from_string, resources_to_json, ResourceLimits, ResourceQuantities, Resources, ResourcesError,
    Scalar,
};
use mesos_protos::v1;
use mesos_protos::v1::resource::{disk_info, reservation_info, DiskInfo, ReservationInfo};
use proptest::prelude::*;

fn parse_err(text: &str) -> String {
    Resources::parse(text, "*").unwrap_err().to_string()
}

#[test]
fn parses_the_flag_example() {
    let rs = Resources::parse("cpus:4;mem:1024;ports:[31000-32000];disk(role):100", "*").unwrap();
    assert_eq!(rs.cpus(), Some(4.0));
    assert_eq!(rs.mem(), Some(1024));
    assert_eq!(rs.ports().unwrap().count(), 1001);
    assert_eq!(rs.reserved("role").disk(), Some(100));
    assert!(rs.unreserved().disk().is_none());
    let disk = rs.reserved("role").to_vec();
    assert_eq!(
        disk[0].reservations[0].r#type(),
        reservation_info::Type::Static
    );
}

#[test]
fn parses_sets_spaces_and_default_role() {
    let rs =
        Resources::parse(" cpus : 2 ; zones:{ a, b ,c};ports:[1-2, 3-5 , 9-9]", "dev").unwrap();
    assert_eq!(rs.reserved("dev").cpus(), Some(2.0));
    assert_eq!(rs.get_set("zones").unwrap().items(), ["a", "b", "c"]);
    assert_eq!(rs.ports().unwrap().to_string(), "[1-5, 9-9]");
    // `*` in parentheses means unreserved even with a default role.
    let star = Resources::parse("cpus(*):1", "dev").unwrap();
    assert!(star.iter().all(|r| r.is_unreserved()));
    assert_eq!("cpus:1;mem:2".parse::<Resources>().unwrap().len(), 2);
}

#[test]
fn text_errors_use_mesos_messages() {
    assert_eq!(
        parse_err("cpus:1:2"),
        "Bad value for resources, missing or extra ':' in cpus:1:2"
    );
    assert_eq!(
        parse_err("cpus)r(:1"),
        "Bad value for resources, mismatched parentheses in cpus)r(:1"
    );
    assert_eq!(
        parse_err("cpus:abc"),
        "Bad type for resource cpus value abc type TEXT"
    );
    assert_eq!(
        parse_err("ports:[1-2"),
        "Failed to parse resource ports value [1-2 error Mismatched brackets"
    );
    assert_eq!(
        parse_err("ports:[1-2-3]"),
        "Failed to parse resource ports value [1-2-3] error Expecting one or more \"ranges\""
    );
    assert_eq!(
        parse_err("ports:[a-2]"),
        "Failed to parse resource ports value [a-2] error Expecting non-negative integers in 'a'"
    );
    assert_eq!(
        parse_err("cpus:-1"),
        "Failed to parse resource cpus value -1 error Invalid scalar value '-1':Negative values not supported"
    );
    assert_eq!(
        parse_err("ports:[5-1]"),
        "Invalid ranges resource: begin > end"
    );
    assert_eq!(
        parse_err("cpus(.):1"),
        "Role '.' cannot include '.' as a component"
    );
    assert_eq!(
        parse_err("cpus:1;cpus:[1-2]"),
        "Resources with the same name ('cpus') but different types are not allowed"
    );
    assert!(parse_value("1x").unwrap().text.is_some());
    assert!(parse_value("inf").unwrap().text.is_some());
    assert_eq!(
        parse_value("").unwrap_err(),
        ResourcesError::Parse("Expecting non-empty string".into())
    );
}

#[test]
fn json_form_is_accepted() {
    let json = r#"[
      {"name":"cpus","type":"SCALAR","scalar":{"value":8}},
      {"name":"mem","type":"SCALAR","scalar":{"value":512},"role":"web"},
      {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":10}]},
       "reservations":[{"type":"STATIC","role":"web"}], "unknown_key": 1}
    ]"#;
    let rs = Resources::parse(json, "*").unwrap();
    assert_eq!(rs.unreserved().cpus(), Some(8.0));
    assert_eq!(rs.reserved("web").mem(), Some(512));
    assert_eq!(rs.reserved("web").ports().unwrap().count(), 10);
    // Default role applies to resources that name no role.
    let dev = Resources::parse(json, "dev").unwrap();
    assert_eq!(dev.reserved("dev").cpus(), Some(8.0));
    // Bad JSON values are typed errors with Mesos's prefix.
    let bad = Resources::parse(
        r#"[{"name":"cpus","type":"NOPE","scalar":{"value":1}}]"#,
        "*",
    )
    .unwrap_err();
    assert!(matches!(bad, ResourcesError::Json(_)), "{bad:?}");
    assert!(bad
        .to_string()
        .starts_with("Some JSON resources were not formatted properly: "));
    // Command-line rules: no dynamic reservations, no revocable.
    let dynamic = r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},
        "reservations":[{"type":"DYNAMIC","role":"web","principal":"p"}]}]"#;
    assert!(Resources::parse(dynamic, "*")
        .unwrap_err()
        .to_string()
        .starts_with("Dynamic reservations cannot be specified at the command line"));
    let revocable = r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"revocable":{}}]"#;
    assert!(Resources::parse(revocable, "*")
        .unwrap_err()
        .to_string()
        .starts_with("Revocable resources cannot be specified"));
}

#[test]
fn json_output_is_mesos_shaped() {
    let rs = Resources::parse("cpus(web):1.5;ports:[1-2]", "*").unwrap();
    let json = resources_to_json(&rs.to_vec());
    assert_eq!(
        json,
        serde_json::json!([
            {"name":"cpus","type":"SCALAR","scalar":{"value":1.5},
             "reservations":[{"type":"STATIC","role":"web"}]},
            {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":2}]}}
        ])
    );
    let back = from_string(&json.to_string(), "*").unwrap();
    assert_eq!(Resources::from(back), rs);
}

fn base(name: &str) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value: 1.0 }),
        ..Default::default()
    }
}

fn msg(r: &v1::Resource) -> String {
    validate_resource(r).unwrap_err().to_string()
}

#[test]
#[allow(deprecated)] // `Resource.role` is the pre-refinement field under test.
fn validation_messages() {
    assert!(validate_resource(&base("cpus")).is_ok());
    assert_eq!(msg(&base("")), "Empty resource name");
    let mut r = base("cpus");
    r.ranges = Some(Default::default());
    assert_eq!(msg(&r), "Invalid scalar resource");
    r = base("cpus");
    r.scalar = Some(v1::value::Scalar { value: -1.0 });
    assert_eq!(msg(&r), "Invalid scalar resource: value < 0");
    r = base("ports");
    r.r#type = v1::value::Type::Ranges as i32;
    r.scalar = None;
    r.ranges = Some(v1::value::Ranges {
        range: vec![
            v1::value::Range { begin: 1, end: 6 },
            v1::value::Range { begin: 5, end: 9 },
        ],
    });
    assert_eq!(msg(&r), "Invalid ranges resource: overlapping ranges");
    // Mesos only catches a later range starting inside an earlier one; the mirror case
    // is accepted and merged.
    r.ranges.as_mut().unwrap().range.reverse();
    assert!(validate_resource(&r).is_ok());
    assert_eq!(Resources::from(&r).ports().unwrap().to_string(), "[1-9]");
    r = base("zones");
    r.r#type = v1::value::Type::Set as i32;
    r.scalar = None;
    r.set = Some(v1::value::Set {
        item: vec!["a".into(), "a".into()],
    });
    assert_eq!(msg(&r), "Invalid set resource: duplicated elements");
    r = base("x");
    r.r#type = v1::value::Type::Text as i32;
    assert_eq!(msg(&r), "Unsupported resource type");
    r = base("cpus");
    r.disk = Some(DiskInfo::default());
    assert_eq!(msg(&r), "DiskInfo should not be set for cpus resource");
    r = base("disk");
    r.disk = Some(DiskInfo {
        source: Some(disk_info::Source {
            r#type: disk_info::source::Type::Block as i32,
            mount: Some(Default::default()),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(msg(&r), "Mount should not be set for BLOCK disk source");
    r = base("cpus");
    r.shared = Some(Default::default());
    assert_eq!(msg(&r), "Resource cpus cannot be shared");
    r = base("disk");
    r.shared = Some(Default::default());
    assert_eq!(msg(&r), "Only persistent volumes can be shared");
    r = base("cpus");
    r.reservation = Some(Default::default());
    assert_eq!(
        msg(&r),
        "Invalid reservation: role \"*\" cannot be dynamically reserved"
    );
    r = base("cpus");
    r.reservations = vec![ReservationInfo {
        role: Some("a".into()),
        ..Default::default()
    }];
    assert_eq!(
        msg(&r),
        "Invalid reservation: 'Resource.ReservationInfo.type' field must be set."
    );
    r.reservations[0].r#type = Some(reservation_info::Type::Static as i32);
    r.role = Some("b".into());
    assert_eq!(
        msg(&r),
        "Invalid resource format: 'Resource.role' field with 'b' does not match the role 'a' \
         in 'Resource.reservations'"
    );
    r.role = None;
    r.reservations[0].role = Some("*".into());
    assert_eq!(
        msg(&r),
        "Invalid reservation: role \"*\" cannot be reserved"
    );
    let all = validate_resources(&[base("cpus"), base("")])
        .unwrap_err()
        .to_string();
    assert_eq!(all, "Resource ':1' is invalid: Empty resource name");
}

#[test]
fn roles() {
    assert!(validate_role("*").is_ok());
    assert!(validate_role("a/b-c/d").is_ok());
    for (role, m) in [
        ("/a", "Role '/a' cannot start with a slash"),
        ("a/", "Role 'a/' cannot end with a slash"),
        ("a//b", "Role 'a//b' cannot contain two adjacent slashes"),
        ("", "Role names cannot be the empty string"),
        ("a/..", "Role 'a/..' cannot include '..' as a component"),
        ("a/*", "Role 'a/*' cannot include '*' as a component"),
        (
            "-a",
            "Role component '-a' is invalid because it starts with a dash",
        ),
        (
            "a b",
            "Role component 'a b' is invalid because it contains backspace or whitespace",
        ),
    ] {
        assert_eq!(validate_role(role).unwrap_err().to_string(), m);
    }
    assert!(is_strict_subrole_of("a/b", "a"));
    assert!(is_strict_subrole_of("a/b/c", "a"));
    assert!(!is_strict_subrole_of("ab", "a"));
    assert!(!is_strict_subrole_of("a", "a"));
}

#[test]
fn quantities_and_limits_parse() {
    let q = ResourceQuantities::parse("cpus:1;mem:32;gpus:0").unwrap();
    assert_eq!(q.len(), 2, "zero is dropped");
    assert_eq!(q.get("mem"), Scalar::from_units(32));
    assert_eq!(
        ResourceQuantities::parse("cpus").unwrap_err().to_string(),
        "Failed to parse 'cpus': missing or extra ':'"
    );
    assert_eq!(
        ResourceQuantities::parse("cpus:[1-2]")
            .unwrap_err()
            .to_string(),
        "Failed to parse '[1-2]' to quantity: only scalar values are allowed"
    );
    let l = ResourceLimits::parse("cpus:0;mem:100").unwrap();
    assert_eq!(l.get("cpus"), Some(Scalar::ZERO));
    assert_eq!(l.get("disk"), None);
    assert!(l.contains_quantities(&ResourceQuantities::parse("mem:100;disk:1000").unwrap()));
    assert!(!l.contains_quantities(&ResourceQuantities::parse("cpus:0.001").unwrap()));
    assert_eq!(
        ResourceLimits::parse("cpus:1;cpus:2")
            .unwrap_err()
            .to_string(),
        "Failed to parse '2' to limit: duplicate names are not allowed"
    );
    assert!(ResourceLimits::new().contains(&l));
    assert!(!l.contains(&ResourceLimits::new()));
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "[a-z0-9:;()\\[\\]{},. *-]{0,40}") {
        if let Ok(rs) = Resources::parse(&text, "*") {
            // Whatever parses is valid and survives a protobuf round trip.
            prop_assert!(validate_resources(&rs.to_vec()).is_ok());
            prop_assert_eq!(Resources::from(rs.to_vec()), rs);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(text in "\\[(\\{\"name\":\"[a-z]{0,3}\",\"type\":\"(SCALAR|RANGES|SET|TEXT)\",\"(scalar|ranges|set)\":\\{[^}]{0,20}\\}\\},?){0,3}\\]") {
        let _ = Resources::parse(&text, "*");
    }
}
