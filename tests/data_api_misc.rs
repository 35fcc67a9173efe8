//! ACLs and auth, sync, ephemeral listing, pending calls, containers and TTL nodes, against a
//! real ZooKeeper server.

use std::time::{Duration, Instant};

use zkcluster::Perms;
use zkcluster::{digest_id, Acl, Client, CreateMode, CreateOptions, Error, ErrorCode};

mod common;

use common::{server, test_root};

fn connect() -> Client {
    common::client()
}

#[test]
fn acls_are_read_replaced_and_enforced_with_clear_no_auth_errors() {
    let anonymous = connect();
    let root = test_root(&anonymous, "acl");
    let path = format!("{root}/guarded");
    anonymous.create_node(&path, "v0").unwrap();
    let (acl, stat) = anonymous.get_acl(&path).unwrap();
    assert_eq!(acl, Acl::open_unsafe());
    assert_eq!(stat.aversion, 0);

    let alice = Client::builder(&server().connect_string())
        .auth("digest", "alice:wonderland")
        .connect()
        .unwrap();
    let guarded = vec![Acl::digest("alice", "wonderland", Perms::ALL), Acl::anyone(Perms::READ)];
    let stat = anonymous.set_acl(&path, &guarded, Some(0)).unwrap();
    assert_eq!(stat.aversion, 1);
    assert!(alice.set_acl(&path, &guarded, Some(0)).unwrap_err().is_bad_version());
    // The ACL is checked before the version: without ADMIN it is NoAuth whatever the version.
    assert!(anonymous.set_acl(&path, &guarded, Some(0)).unwrap_err().is_no_auth());
    // ZooKeeper 3.8 shows digest hashes only to sessions with ADMIN on the node.
    assert_eq!(alice.get_acl(&path).unwrap().0, guarded);
    let redacted = anonymous.get_acl(&path).unwrap().0;
    assert_eq!(redacted[0].id.id, "alice:x", "{redacted:?}");

    // Anyone may read; only alice may write, and the error says why.
    assert_eq!(anonymous.get_node(&path).unwrap().value, b"v0");
    let err = anonymous.set_value_to_node(&path, "nope").unwrap_err();
    assert!(err.is_no_auth(), "{err:?}");
    assert!(matches!(&err, Error::Server { code: ErrorCode::NoAuth, path: p } if *p == path));
    let message = err.to_string();
    assert!(
        message.contains("NoAuth") && message.contains(&path) && message.contains("add_auth"),
        "{message}"
    );
    alice.set_value_to_node(&path, "v1").unwrap();
    // A wrong password is a different identity.
    let mallory = Client::builder(&server().connect_string())
        .auth("digest", "alice:guess")
        .connect()
        .unwrap();
    assert!(mallory.delete(&path, None).is_ok(), "delete is granted by the parent's (open) ACL");
    assert!(mallory.create_node(&format!("{root}/x"), "").is_ok());
    alice.create_node(&path, "again").unwrap();
    alice.set_acl(&path, &guarded, None).unwrap();
    assert!(mallory.set_value_to_node(&path, "x").unwrap_err().is_no_auth());
    assert!(mallory.set_acl(&path, &Acl::open_unsafe(), None).unwrap_err().is_no_auth());

    // creator_all: the server fills in the session's digest id, which must be ours.
    let owned = alice
        .create(&format!("{root}/owned"), "", &CreateOptions::new().acl(Acl::creator_all()))
        .unwrap();
    let (acl, _) = alice.get_acl(&owned).unwrap();
    assert_eq!(acl, vec![Acl::new(Perms::ALL, "digest", &digest_id("alice", "wonderland"))]);
    assert!(anonymous.get_node(&owned).unwrap_err().is_no_auth());
    // Without auth, creator_all is refused by the server.
    let err = anonymous
        .create(&format!("{root}/o2"), "", &CreateOptions::new().acl(Acl::creator_all()))
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidAcl), "{err:?}");
    assert!(anonymous.set_acl(&path, &[], None).is_err());
}

#[test]
fn ip_acl_and_default_acl_of_the_client() {
    let plain = connect();
    let root = test_root(&plain, "default-acl");
    let acl = vec![Acl::ip("127.0.0.1", Perms::ALL), Acl::anyone(Perms::READ)];
    let client =
        Client::builder(&server().connect_string()).default_acl(acl.clone()).connect().unwrap();
    assert_eq!(client.default_acl(), acl.as_slice());
    client.create_node(&format!("{root}/a"), "").unwrap();
    client.transaction().create(&format!("{root}/b"), "", &CreateOptions::new()).commit().unwrap();
    for name in ["a", "b"] {
        assert_eq!(plain.get_acl(&format!("{root}/{name}")).unwrap().0, acl);
    }
    // We connect from 127.0.0.1, so the ip entry lets us write.
    plain.set_value_to_node(&format!("{root}/a"), "x").unwrap();
}

#[test]
fn sync_returns_the_path_and_orders_later_reads() {
    let client = connect();
    let root = test_root(&client, "sync");
    assert_eq!(client.sync(&root).unwrap(), root);
    let chrooted = Client::connect(&format!("{}{root}", server().connect_string())).unwrap();
    assert_eq!(chrooted.sync("/").unwrap(), "/");
    let writer = connect();
    writer.create_node(&format!("{root}/n"), "w").unwrap();
    let synced = chrooted.sync_async("/n");
    let read = chrooted.get_node_async("/n");
    assert_eq!(synced.wait().unwrap(), "/n");
    assert_eq!(read.wait().unwrap().value, b"w");
    assert!(matches!(client.sync("bad"), Err(Error::InvalidPath { .. })));
}

#[test]
fn get_ephemerals_lists_this_sessions_ephemerals_by_prefix() {
    let client = connect();
    let root = test_root(&client, "ephemerals");
    let eph = CreateOptions::new().mode(CreateMode::Ephemeral);
    client.create(&format!("{root}/e1"), "", &eph).unwrap();
    client.create(&format!("{root}/e2"), "", &eph).unwrap();
    client.create_node(&format!("{root}/persistent"), "").unwrap();
    client.create(&format!("{root}/persistent/e3"), "", &eph).unwrap();
    let other = connect();
    other.create(&format!("{root}/theirs"), "", &eph).unwrap();

    assert_eq!(
        client.get_ephemerals(&root).unwrap(),
        [format!("{root}/e1"), format!("{root}/e2"), format!("{root}/persistent/e3")]
    );
    assert_eq!(
        client.get_ephemerals(&format!("{root}/e")).unwrap(),
        [format!("{root}/e1"), format!("{root}/e2")]
    );
    assert_eq!(other.get_ephemerals(&root).unwrap(), [format!("{root}/theirs")]);

    let chrooted = Client::connect(&format!("{}{root}", server().connect_string())).unwrap();
    chrooted.create("/mine", "", &eph).unwrap();
    let sibling = client.create(&format!("{root}-sibling"), "", &eph).unwrap();
    assert_eq!(chrooted.get_ephemerals("/").unwrap(), ["/mine"]);
    assert!(client.get_ephemerals("/").unwrap().contains(&sibling));
}

#[test]
fn a_thousand_pending_gets_from_one_thread_all_complete_correctly() {
    let client = connect();
    let root = test_root(&client, "pending");
    let creates: Vec<_> = (0..1000)
        .map(|i| client.create_node_async(&format!("{root}/n{i}"), i.to_string()))
        .collect();
    for (i, c) in creates.into_iter().enumerate() {
        assert_eq!(c.wait().unwrap(), format!("{root}/n{i}"));
    }
    let started = Instant::now();
    let gets: Vec<_> = (0..1000).map(|i| client.get_node_async(&format!("{root}/n{i}"))).collect();
    for (i, g) in gets.into_iter().enumerate() {
        let node = g.wait().unwrap();
        assert_eq!(node.path, format!("{root}/n{i}"));
        assert_eq!(node.value_str().unwrap(), i.to_string());
    }
    eprintln!(
        "1000 pipelined gets: {:?} (timing is measured in benches/pending_gets.rs)",
        started.elapsed()
    );

    // The other seed forms.
    let sets: Vec<_> =
        (0..10).map(|i| client.set_value_to_node_async(&format!("{root}/n{i}"), "s")).collect();
    for s in sets {
        assert_eq!(s.wait().unwrap().version, 1);
    }
    let exists = client.exist_node_async(&format!("{root}/n1"));
    let deleted = client.delete_node_async(&format!("{root}/n1"));
    let missing = client.delete_node_async(&format!("{root}/n1"));
    assert!(exists.wait().unwrap().is_some());
    assert!(deleted.wait().unwrap());
    assert!(!missing.wait().unwrap());
    assert!(client
        .get_node_async(&format!("{root}/n2"))
        .wait_timeout(Duration::from_secs(5))
        .is_ok());
    assert!(client.create_node_async("bad", "").wait().is_err());
}

#[test]
fn containers_and_ttl_nodes_are_created_with_their_opcodes() {
    let client = connect();
    let root = test_root(&client, "modes");
    let container = client
        .create(&format!("{root}/box"), "", &CreateOptions::new().mode(CreateMode::Container))
        .unwrap();
    client.create_node(&format!("{container}/item"), "").unwrap();
    let ttl = CreateOptions::new().mode(CreateMode::PersistentWithTtl(Duration::from_secs(3600)));
    client.create(&format!("{root}/ttl"), "", &ttl).unwrap();
    let seq_ttl = CreateOptions::new()
        .mode(CreateMode::PersistentSequentialWithTtl(Duration::from_secs(3600)));
    let created = client.create(&format!("{root}/ttl-"), "", &seq_ttl).unwrap();
    assert!(
        created.starts_with(&format!("{root}/ttl-")) && created.len() == root.len() + 15,
        "{created}"
    );
    // A TTL must be positive (and at most the server's limit): the server refuses 0.
    let zero = CreateOptions::new().mode(CreateMode::PersistentWithTtl(Duration::ZERO));
    assert!(client.create(&format!("{root}/ttl0"), "", &zero).is_err());
    // Removal by the server is checked in data_api_containers.rs (it needs a short check interval).
}
