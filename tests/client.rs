//! The client's data API against a real ZooKeeper server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{client, server, unique};
use zkcluster::{Client, CreateMode, CreateOptions, Error, ErrorCode, WatchEventKind};

#[test]
fn seed_api_round_trip() {
    let client = client();
    let path = unique("seed");
    assert_eq!(client.create_node(&path, "value").unwrap(), path);
    let node = client.get_node(&path).unwrap();
    assert_eq!(node.path, path);
    assert_eq!(node.value_str().unwrap(), "value");
    assert_eq!(node.stat.version, 0);
    let stat = client.set_value_to_node(&path, b"v2").unwrap();
    assert_eq!(stat.version, 1);
    assert_eq!(client.get_node(&path).unwrap().value, b"v2");
    assert_eq!(client.exist_node(&path).unwrap().map(|s| s.version), Some(1));
    assert!(client.delete_node(&path).unwrap());
    assert!(!client.delete_node(&path).unwrap(), "a second delete reports no node");
    assert_eq!(client.exist_node(&path).unwrap(), None);
    assert!(client.get_node(&path).unwrap_err().is_no_node());
}

#[test]
fn server_errors_keep_path_and_code() {
    let client = client();
    let path = unique("errors");
    client.create_node(&path, "").unwrap();
    let err = client.create_node(&path, "").unwrap_err();
    assert!(err.is_node_exists(), "{err}");
    assert!(matches!(&err, Error::Server { code: ErrorCode::NodeExists, path: p } if *p == path));
    assert!(err.to_string().contains(&path) && err.to_string().contains("NodeExists"), "{err}");
    assert!(client.set_data(&path, b"x", Some(7)).unwrap_err().is_bad_version());
    client.create_node(&format!("{path}/child"), "").unwrap();
    assert!(client.delete(&path, None).unwrap_err().is_not_empty());
    assert!(client.create_node(&format!("{path}/missing/child"), "").unwrap_err().is_no_node());
    client.delete_recursive(&path).unwrap();
}

#[test]
fn versions_guard_set_and_delete() {
    let client = client();
    let path = unique("versions");
    client.create_node(&path, "0").unwrap();
    let stat = client.set_data(&path, "1", Some(0)).unwrap();
    assert_eq!(stat.version, 1);
    assert!(client.delete(&path, Some(0)).unwrap_err().is_bad_version());
    client.delete(&path, Some(1)).unwrap();
    assert!(client.delete(&path, None).unwrap_err().is_no_node());
}

#[test]
fn create_modes_and_parents() {
    let client = client();
    let root = unique("modes");
    let seq = client
        .create(&format!("{root}/q/item-"), "a", &CreateOptions::new().sequential().parents())
        .unwrap();
    assert!(
        seq.starts_with(&format!("{root}/q/item-"))
            && seq.len() == format!("{root}/q/item-").len() + 10,
        "{seq}"
    );
    let eph = client.create(&format!("{root}/eph"), "", &CreateOptions::new().ephemeral()).unwrap();
    let stat = client.exist_node(&eph).unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, client.session_id());
    let both = client
        .create(
            &format!("{root}/e-"),
            "",
            &CreateOptions::new().mode(CreateMode::EphemeralSequential),
        )
        .unwrap();
    assert_eq!(client.exist_node(&both).unwrap().unwrap().ephemeral_owner, client.session_id());
    let mut children = client.get_children(&root).unwrap();
    children.sort();
    assert_eq!(children.len(), 3);
    assert!(children.contains(&"eph".to_string()) && children.contains(&"q".to_string()));
    let (names, stat) = client.get_children_with_stat(&root).unwrap();
    assert_eq!(names.len() as i32, stat.num_children);
    // Ephemerals go with their session.
    let other = common::client();
    let gone =
        other.create(&format!("{root}/other"), "", &CreateOptions::new().ephemeral()).unwrap();
    other.close().unwrap();
    assert_eq!(client.exist_node(&gone).unwrap(), None);
    assert!(client.delete_recursive(&root).unwrap());
    assert!(!client.delete_recursive(&root).unwrap());
}

#[test]
fn ensure_path_and_delete_recursive() {
    let client = client();
    let root = unique("tree");
    client.ensure_path(&format!("{root}/a/b/c")).unwrap();
    client.ensure_path(&format!("{root}/a/b/c")).unwrap(); // idempotent
    for i in 0..20 {
        client.create_node(&format!("{root}/a/n{i}"), "").unwrap();
    }
    assert_eq!(client.get_children(&format!("{root}/a")).unwrap().len(), 21);
    assert!(client.delete_recursive(&root).unwrap());
    assert_eq!(client.exist_node(&root).unwrap(), None);
}

#[test]
fn data_and_exists_watches_fire_once() {
    let client = client();
    let path = unique("watch");
    let (stat, created) = client.exist_node_watch(&path).unwrap();
    assert!(stat.is_none());
    client.create_node(&path, "1").unwrap();
    let event = created.recv_timeout(Duration::from_secs(5)).expect("exists watch did not fire");
    assert_eq!((event.kind, event.path.as_str()), (WatchEventKind::NodeCreated, path.as_str()));

    let (_, changed) = client.get_node_watch(&path).unwrap();
    let writer = common::client();
    writer.set_value_to_node(&path, "2").unwrap();
    assert_eq!(
        changed.recv_timeout(Duration::from_secs(5)).unwrap().kind,
        WatchEventKind::NodeDataChanged
    );
    writer.set_value_to_node(&path, "3").unwrap();
    assert!(
        changed.recv_timeout(Duration::from_millis(300)).is_err(),
        "a one-shot watch fired twice"
    );

    let (_, children) = client.get_children_watch(&path).unwrap();
    writer.create_node(&format!("{path}/c"), "").unwrap();
    assert_eq!(
        children.recv_timeout(Duration::from_secs(5)).unwrap().kind,
        WatchEventKind::NodeChildrenChanged
    );

    let (_, deleted) = client.exist_node_watch(&path).unwrap();
    writer.delete_recursive(&path).unwrap();
    assert_eq!(
        deleted.recv_timeout(Duration::from_secs(5)).unwrap().kind,
        WatchEventKind::NodeDeleted
    );
}

#[test]
fn eight_threads_share_one_client() {
    let client = Arc::new(client());
    let root = unique("threads");
    client.create_node(&root, "").unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let client = client.clone();
            let root = root.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let path = format!("{root}/t{t}-{i}");
                    client.create_node(&path, format!("{t}:{i}")).unwrap();
                    assert_eq!(
                        client.get_node(&path).unwrap().value_str().unwrap(),
                        format!("{t}:{i}")
                    );
                    assert!(client.exist_node(&path).unwrap().is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a worker thread failed");
    }
    assert_eq!(client.get_children(&root).unwrap().len(), 400);
    client.delete_recursive(&root).unwrap();
}

#[test]
fn pipelined_calls_from_one_thread_complete_in_order() {
    let client = client();
    let root = unique("pipeline");
    client.create_node(&root, "").unwrap();
    let creates: Vec<_> = (0..200)
        .map(|i| {
            client.create_async(&format!("{root}/n{i:03}"), format!("{i}"), &Default::default())
        })
        .collect();
    for (i, p) in creates.into_iter().enumerate() {
        assert_eq!(p.wait().unwrap(), format!("{root}/n{i:03}"));
    }
    let gets: Vec<_> =
        (0..200).map(|i| client.get_node_async(&format!("{root}/n{i:03}"))).collect();
    for (i, p) in gets.into_iter().enumerate() {
        assert_eq!(p.wait().unwrap().value, i.to_string().into_bytes());
    }
    client.delete_recursive(&root).unwrap();
}

#[test]
fn chroot_is_applied_and_stripped() {
    let root = unique("chroot");
    let plain = client();
    plain.ensure_path(&root).unwrap();
    let rooted = common::client_of(&format!("{}{root}", server().connect_string()));
    assert_eq!(rooted.create_node("/a", "x").unwrap(), "/a");
    assert_eq!(
        rooted.create("/s-", "", &CreateOptions::new().sequential()).unwrap().len(),
        "/s-".len() + 10
    );
    assert_eq!(plain.get_node(&format!("{root}/a")).unwrap().value, b"x");
    assert_eq!(rooted.get_node("/a").unwrap().path, "/a");
    let mut children = rooted.get_children("/").unwrap();
    children.sort();
    assert_eq!(children.len(), 2);
    let (_, watch) = rooted.get_node_watch("/a").unwrap();
    plain.set_value_to_node(&format!("{root}/a"), "y").unwrap();
    assert_eq!(
        watch.recv_timeout(Duration::from_secs(5)).unwrap().path,
        "/a",
        "event path keeps the chroot stripped"
    );
    plain.delete_recursive(&root).unwrap();
}

#[test]
fn binary_values_and_utf8_errors() {
    let client = client();
    let path = unique("binary");
    client.create_node(&path, [0xff, 0x00, 0xfe]).unwrap();
    let node = client.get_node(&path).unwrap();
    assert_eq!(node.value, vec![0xff, 0x00, 0xfe]);
    let err = node.value_str().unwrap_err();
    assert!(matches!(&err, Error::NotUtf8 { path: p, .. } if *p == path), "{err}");
    client.create_node(&format!("{path}-empty"), b"").unwrap();
    assert!(client.get_node(&format!("{path}-empty")).unwrap().value.is_empty());
}

/// Every bad input gets its own error before anything is sent, and the client keeps working.
#[test]
fn bad_inputs_get_specific_errors() {
    let client = client();
    let invalid_paths: &[(&str, &str)] = &[
        ("", "empty"),
        ("relative", "start with '/'"),
        ("/trailing/", "end with '/'"),
        ("/double//slash", "two '/'"),
        ("/dot/./x", "'.'"),
        ("/dotdot/..", "'..'"),
        ("/nul\0", "NUL"),
        ("/ctrl\u{7}", "U+0007"),
        ("/private\u{e123}", "U+E123"),
        ("/special\u{fffe}", "U+FFFE"),
    ];
    for (path, rule) in invalid_paths {
        for err in [
            client.create_node(path, "").unwrap_err(),
            client.get_node(path).unwrap_err(),
            client.set_value_to_node(path, "").unwrap_err(),
            client.delete_node(path).unwrap_err(),
            client.exist_node(path).unwrap_err(),
            client.get_children(path).unwrap_err(),
        ] {
            match &err {
                Error::InvalidPath { path: p, reason } => {
                    assert_eq!(p, path);
                    assert!(
                        reason.contains(rule),
                        "{path:?}: reason {reason:?} should mention {rule:?}"
                    );
                }
                other => panic!("{path:?}: expected InvalidPath, got {other:?}"),
            }
        }
    }
    let big = vec![b'x'; 1024 * 1024 + 1];
    let path = unique("big");
    assert!(
        matches!(client.create_node(&path, &big), Err(Error::ValueTooLarge { len, .. }) if len == big.len())
    );
    client.create_node(&path, "").unwrap();
    assert!(matches!(client.set_value_to_node(&path, &big), Err(Error::ValueTooLarge { .. })));
    assert!(matches!(client.delete_node("/"), Err(Error::InvalidPath { .. })));
    // The largest value we accept is accepted by the server too.
    let largest = vec![b'y'; 1024 * 1024 - 1024];
    client.set_value_to_node(&path, &largest).unwrap();
    assert_eq!(client.get_node(&path).unwrap().value.len(), largest.len());
    for bad in ["", "host:notaport", "a:1,,b:2", "a:1/chroot/"] {
        assert!(matches!(Client::connect(bad), Err(Error::InvalidConnectString { .. })), "{bad:?}");
    }
    // Nothing above broke the session.
    assert!(client.state().is_connected());
    client.delete_node(&path).unwrap();
    assert!(client.exist_node(&path).unwrap().is_none());
}

#[test]
fn connect_to_nothing_fails_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let err = Client::builder(&format!("127.0.0.1:{port}"))
        .connect_timeout(Duration::from_millis(800))
        .connect()
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

#[test]
fn closed_clients_refuse_calls_and_emit_closed() {
    let client = client();
    let events = client.session_events();
    let clone = client.clone();
    client.close().unwrap();
    client.close().unwrap(); // idempotent
    assert!(clone.get_node("/").unwrap_err().is_closed());
    assert_eq!(clone.state(), zkcluster::SessionState::Closed);
    let seen: Vec<_> = events.iter().collect();
    assert_eq!(seen, vec![zkcluster::SessionEvent::Closed]);
}
