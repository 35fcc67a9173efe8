//! The Kazoo peer of the interop tests works: a node Kazoo writes is read by us, and the
//! reverse, on one shared server.

mod common;

use std::time::Duration;

use common::kazoo::{self, Kazoo};

#[test]
fn kazoo_and_zkcluster_see_each_others_writes() {
    let client = common::client();
    let root = common::test_root(&client, "kazoo-peer");
    let hosts = common::server().connect_string();

    let said = kazoo::run(
        &hosts,
        &format!("zk.create('{root}/from-kazoo', b'hello')\nsay('created')"),
        Duration::from_secs(30),
    );
    assert_eq!(said, ["created"]);
    assert_eq!(client.get_node(&format!("{root}/from-kazoo")).unwrap().value, b"hello");

    let mut peer = Kazoo::spawn(
        &hosts,
        &format!("say('ready')\nask()\nsay(zk.get('{root}/from-rust')[0].decode())"),
    );
    peer.expect("ready", Duration::from_secs(30));
    client.create_node(&format!("{root}/from-rust"), "world").unwrap();
    peer.send("go");
    peer.expect("world", Duration::from_secs(10));
    assert!(peer.finish(Duration::from_secs(10)).is_empty());
}
