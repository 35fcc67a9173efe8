//! Transactions (multi) and multi_read against a real ZooKeeper server.

use std::time::Duration;

use zkcluster::Perms;
use zkcluster::{
    Acl, Client, CreateMode, CreateOptions, Error, ErrorCode, OpResult, ReadOp, ReadResult,
};

mod common;

use common::{server, test_root};

fn connect() -> Client {
    common::client()
}

#[test]
fn commit_applies_every_operation_and_reports_each_outcome() {
    let client = connect();
    let root = test_root(&client, "commit");
    client.create_node(&format!("{root}/old"), "o").unwrap();
    client.create_node(&format!("{root}/conf"), "v0").unwrap();

    let results = client
        .transaction()
        .check(&format!("{root}/conf"), 0)
        .create(&format!("{root}/new"), "n", &CreateOptions::new())
        .create(&format!("{root}/seq-"), "s", &CreateOptions::new().sequential())
        .set_data(&format!("{root}/conf"), "v1", Some(0))
        .delete(&format!("{root}/old"), None)
        .commit()
        .expect("commit");

    assert_eq!(results.len(), 5);
    assert_eq!(results[0], OpResult::Checked);
    match &results[1] {
        OpResult::Created { path, stat } => {
            assert_eq!(path, &format!("{root}/new"));
            // ZooKeeper 3.8 sends no stat for a plain create inside a multi.
            if let Some(stat) = stat {
                assert_eq!(stat.data_length, 1, "{results:?}");
            }
        }
        other => panic!("expected Created, got {other:?}"),
    }
    match &results[2] {
        // The parent's cversion is 3 after three child creates.
        OpResult::Created { path, .. } => assert_eq!(path, &format!("{root}/seq-0000000003")),
        other => panic!("expected Created, got {other:?}"),
    }
    match &results[3] {
        OpResult::DataSet { stat } => assert_eq!(stat.version, 1),
        other => panic!("expected DataSet, got {other:?}"),
    }
    assert_eq!(results[4], OpResult::Deleted);

    assert_eq!(client.get_node(&format!("{root}/new")).unwrap().value, b"n");
    assert_eq!(client.get_node(&format!("{root}/conf")).unwrap().value, b"v1");
    assert!(client.exist_node(&format!("{root}/old")).unwrap().is_none());
    // Every create of one multi shares the zxid of the transaction.
    let a = client.exist_node(&format!("{root}/new")).unwrap().unwrap();
    let b = client.exist_node(&format!("{root}/seq-0000000003")).unwrap().unwrap();
    assert_eq!(a.czxid, b.czxid);
}

#[test]
fn failed_commit_names_the_failing_operation_and_applies_nothing() {
    let client = connect();
    let root = test_root(&client, "fail");
    client.create_node(&format!("{root}/conf"), "v0").unwrap();

    let err = client
        .transaction()
        .create(&format!("{root}/a"), "", &CreateOptions::new())
        .set_data(&format!("{root}/conf"), "v1", None)
        .check(&format!("{root}/conf"), 7) // wrong version
        .delete(&format!("{root}/missing"), None)
        .commit()
        .expect_err("the check must fail");
    match &err {
        Error::Transaction { index, code, path } => {
            assert_eq!(*index, 2);
            assert_eq!(*code, ErrorCode::BadVersion);
            assert_eq!(path, &format!("{root}/conf"));
        }
        other => panic!("expected Error::Transaction, got {other:?}"),
    }
    assert!(err.is_bad_version());
    assert!(err.to_string().contains("operation 2"), "{err}");
    // Nothing was applied: not the create before the failure, not the write.
    assert!(client.exist_node(&format!("{root}/a")).unwrap().is_none());
    assert_eq!(client.get_node(&format!("{root}/conf")).unwrap().value, b"v0");

    // A failure at the first operation, and a NoNode one.
    let err = client.transaction().delete(&format!("{root}/missing"), None).commit().unwrap_err();
    assert!(matches!(err, Error::Transaction { index: 0, code: ErrorCode::NoNode, .. }), "{err:?}");
    assert!(err.is_no_node());
    let err = client
        .transaction()
        .create(&format!("{root}/b"), "", &CreateOptions::new())
        .create(&format!("{root}/b"), "", &CreateOptions::new())
        .commit()
        .unwrap_err();
    assert!(
        matches!(err, Error::Transaction { index: 1, code: ErrorCode::NodeExists, .. }),
        "{err:?}"
    );
    assert!(client.exist_node(&format!("{root}/b")).unwrap().is_none());
}

#[test]
fn invalid_operations_are_refused_before_sending() {
    let client = connect();
    let err = client
        .transaction()
        .create("/ok", "", &CreateOptions::new())
        .delete("no-slash", None)
        .commit();
    assert!(matches!(err, Err(Error::InvalidPath { .. })), "{err:?}");
    assert!(client.exist_node("/ok").unwrap().is_none());
    let err = client.transaction().create("/a/b", "", &CreateOptions::new().parents()).commit();
    assert!(matches!(err, Err(Error::InvalidArgument { .. })), "{err:?}");
    let err = client.transaction().delete("/", None).commit();
    assert!(matches!(err, Err(Error::InvalidPath { .. })), "{err:?}");
    // An empty transaction is a no-op round trip.
    assert_eq!(client.transaction().commit().unwrap(), Vec::new());
}

#[test]
fn chroot_applies_to_every_operation_and_is_stripped_from_created_paths() {
    let plain = connect();
    let root = test_root(&plain, "chroot");
    plain.create_node(&format!("{root}/x"), "x0").unwrap();
    let chrooted = Client::connect(&format!("{}{root}", server().connect_string())).unwrap();

    let results = chrooted
        .transaction()
        .check("/x", 0)
        .set_data("/x", "x1", None)
        .create("/q-", "", &CreateOptions::new().sequential())
        .create("/y", "", &CreateOptions::new())
        .delete("/y", None)
        .commit()
        .unwrap();
    assert!(
        matches!(&results[2], OpResult::Created { path, .. } if path == "/q-0000000001"),
        "{results:?}"
    );
    assert!(matches!(&results[3], OpResult::Created { path, .. } if path == "/y"), "{results:?}");
    assert_eq!(plain.get_node(&format!("{root}/x")).unwrap().value, b"x1");
    assert!(plain.exist_node(&format!("{root}/q-0000000001")).unwrap().is_some());

    let err = chrooted.transaction().check("/nope", 0).commit().unwrap_err();
    assert!(matches!(&err, Error::Transaction { path, .. } if path == "/nope"), "{err:?}");

    let reads = chrooted.multi_read(&[ReadOp::data("/x"), ReadOp::children("/")]).unwrap();
    assert!(matches!(&reads[0], Ok(ReadResult::Node(n)) if n.path == "/x" && n.value == b"x1"));
    match &reads[1] {
        Ok(ReadResult::Children(children)) => {
            let mut children = children.clone();
            children.sort();
            assert_eq!(children, ["q-0000000001", "x"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn transaction_creates_every_node_type_with_its_acl() {
    let client = connect();
    let root = test_root(&client, "modes");
    let results = client
        .transaction()
        .create(&format!("{root}/eph"), "", &CreateOptions::new().mode(CreateMode::Ephemeral))
        .create(&format!("{root}/box"), "", &CreateOptions::new().mode(CreateMode::Container))
        .create(
            &format!("{root}/ttl"),
            "",
            &CreateOptions::new().mode(CreateMode::PersistentWithTtl(Duration::from_secs(60))),
        )
        .create(&format!("{root}/ro"), "", &CreateOptions::new().acl(Acl::read_unsafe()))
        .commit()
        .expect("commit");
    assert_eq!(results.len(), 4);
    let owner =
        |name: &str| client.exist_node(&format!("{root}/{name}")).unwrap().unwrap().ephemeral_owner;
    assert_eq!(owner("eph"), client.session_id());
    // Containers and TTL nodes look like persistent nodes to clients (ephemeralOwner 0); that
    // the server removes them is tested in data_api_containers.rs. Their results carry a stat.
    assert_eq!(owner("box"), 0);
    assert_eq!(owner("ttl"), 0);
    assert!(matches!(&results[1], OpResult::Created { stat: Some(_), .. }), "{results:?}");
    assert!(matches!(&results[2], OpResult::Created { stat: Some(_), .. }), "{results:?}");
    let (acl, _) = client.get_acl(&format!("{root}/ro")).unwrap();
    assert_eq!(acl, Acl::read_unsafe());
    assert_eq!(client.get_acl(&format!("{root}/eph")).unwrap().0, vec![Acl::anyone(Perms::ALL)]);
}

#[test]
fn multi_read_reports_each_read_on_its_own() {
    let client = connect();
    let root = test_root(&client, "multiread");
    client.create_node(&format!("{root}/a"), "A").unwrap();
    client.create_node(&format!("{root}/a/c1"), "").unwrap();
    let results = client
        .multi_read(&[
            ReadOp::data(&format!("{root}/a")),
            ReadOp::data(&format!("{root}/missing")),
            ReadOp::children(&format!("{root}/a")),
            ReadOp::children(&format!("{root}/missing")),
        ])
        .unwrap();
    assert_eq!(results.len(), 4);
    match &results[0] {
        Ok(ReadResult::Node(node)) => {
            assert_eq!(node.value, b"A");
            assert_eq!(node.stat.num_children, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(results[1].as_ref().unwrap_err().is_no_node());
    assert_eq!(results[2].as_ref().unwrap(), &ReadResult::Children(vec!["c1".into()]));
    assert!(results[3].as_ref().unwrap_err().is_no_node());
    assert!(client.multi_read(&[]).unwrap().is_empty());
    assert!(matches!(client.multi_read(&[ReadOp::data("bad")]), Err(Error::InvalidPath { .. })));
}
