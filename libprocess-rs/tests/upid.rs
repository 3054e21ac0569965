//! UPID parsing and formatting, and Mesos-style id generation.

use std::net::SocketAddr;

use libprocess::{IdGenerator, Upid, UpidError};

#[test]
fn parses_and_formats_round_trip() {
    for text in [
        "master@10.0.0.5:5050",
        "slave(1)@10.0.0.7:5051",
        "scheduler-6a1c@127.0.0.1:37005",
        "@127.0.0.1:1",
    ] {
        let upid: Upid = text.parse().unwrap();
        assert_eq!(upid.to_string(), text);
    }
    let upid: Upid = "slave(1)@10.0.0.7:5051".parse().unwrap();
    assert_eq!(upid.id(), "slave(1)");
    assert_eq!(
        upid.address(),
        "10.0.0.7:5051".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(upid.port(), 5051);
    assert!("@127.0.0.1:1".parse::<Upid>().unwrap().is_anonymous());
}

#[test]
fn splits_at_first_at_sign() {
    let upid: Upid = "a@127.0.0.1:9".parse().unwrap();
    assert_eq!(upid, Upid::new("a", "127.0.0.1:9".parse().unwrap()));
    // A second '@' belongs to the host part, which then is not a valid host.
    assert!(matches!(
        "a@b@127.0.0.1:9".parse::<Upid>(),
        Err(UpidError::BadHost { .. })
    ));
}

#[test]
fn resolves_localhost_to_ipv4() {
    let upid: Upid = "master@localhost:5050".parse().unwrap();
    assert_eq!(upid.to_string(), "master@127.0.0.1:5050");
}

#[test]
fn rejects_malformed_input() {
    assert_eq!(
        "master10.0.0.5:5050".parse::<Upid>(),
        Err(UpidError::MissingAt("master10.0.0.5:5050".into()))
    );
    assert_eq!(
        "master@10.0.0.5".parse::<Upid>(),
        Err(UpidError::MissingPort("master@10.0.0.5".into()))
    );
    assert_eq!(
        "master@:5050".parse::<Upid>(),
        Err(UpidError::EmptyHost("master@:5050".into()))
    );
    assert_eq!(
        "master@10.0.0.5:50x".parse::<Upid>(),
        Err(UpidError::BadPort {
            input: "master@10.0.0.5:50x".into(),
            port: "50x".into()
        })
    );
    assert!(matches!(
        "master@10.0.0.5:70000".parse::<Upid>(),
        Err(UpidError::BadPort { .. })
    ));
    assert!(matches!(
        "master@10.0.0.5:".parse::<Upid>(),
        Err(UpidError::BadPort { .. })
    ));
    assert!(matches!(
        "master@no such host:1".parse::<Upid>(),
        Err(UpidError::BadHost { .. })
    ));
    assert!(matches!(
        "a b@127.0.0.1:1".parse::<Upid>(),
        Err(UpidError::BadId(_))
    ));
    assert!(matches!(
        "a/b@127.0.0.1:1".parse::<Upid>(),
        Err(UpidError::BadId(_))
    ));
    assert!(matches!("".parse::<Upid>(), Err(UpidError::MissingAt(_))));
    let message = "master@:5050".parse::<Upid>().unwrap_err().to_string();
    assert!(message.contains("master@:5050"), "{message}");
}

#[test]
fn generates_mesos_style_ids() {
    let ids = IdGenerator::new();
    assert_eq!(ids.generate("slave"), "slave(1)");
    assert_eq!(ids.generate("slave"), "slave(2)");
    assert_eq!(ids.generate("executor"), "executor(1)");
    assert_eq!(ids.generate("slave"), "slave(3)");
}
