//! The server removes empty containers and expired TTL nodes. Its container manager runs once a
//! minute unless the JVM property `znode.container.checkIntervalMs` says otherwise, so this test
//! starts a server of its own with that property.

mod common;

use std::time::Duration;

use zkcluster::testing::TestingServer;
use zkcluster::{Client, CreateMode, CreateOptions};

#[test]
fn server_removes_empty_containers_and_expired_ttl_nodes() {
    let server = TestingServer::builder()
        .jvm_property("znode.container.checkIntervalMs", "200")
        .start()
        .expect("a dedicated ZooKeeper server");
    let client = Client::connect(&server.connect_string()).unwrap();
    let exists = |p: &str| client.exist_node(p).unwrap().is_some();

    let container = CreateOptions::new().mode(CreateMode::Container);
    client.create("/box", "", &container).unwrap();
    client.create_node("/box/item", "").unwrap();
    // A container made in a transaction, too.
    client
        .transaction()
        .create("/box2", "", &container)
        .create("/box2/item", "", &CreateOptions::new())
        .commit()
        .unwrap();
    // A plain node with the same history stays.
    client.create_node("/plain", "").unwrap();
    client.create_node("/plain/item", "").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(exists("/box") && exists("/box2"), "a container with children stays");
    for p in ["/box/item", "/box2/item", "/plain/item"] {
        client.delete_node(p).unwrap();
    }
    assert!(
        common::eventually(Duration::from_secs(10), || !exists("/box") && !exists("/box2")),
        "empty containers removed"
    );
    assert!(exists("/plain"));

    let short =
        CreateOptions::new().mode(CreateMode::PersistentWithTtl(Duration::from_millis(300)));
    let long = CreateOptions::new().mode(CreateMode::PersistentWithTtl(Duration::from_secs(3600)));
    client.create("/ttl-short", "", &short).unwrap();
    client.transaction().create("/ttl-short-tx", "", &short).commit().unwrap();
    client.create("/ttl-long", "", &long).unwrap();
    assert!(
        common::eventually(Duration::from_secs(10), || !exists("/ttl-short")
            && !exists("/ttl-short-tx")),
        "expired TTL nodes removed"
    );
    assert!(exists("/ttl-long"));
}
