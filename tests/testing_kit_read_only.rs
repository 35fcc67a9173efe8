//! The test kit's read-only mode, checked with a client that already speaks it (Kazoo 2.11's
//! `read_only=True`): with two of three members down, the survivor serves reads to read-only
//! sessions and refuses writes.

mod common;

use std::time::Duration;

use common::kazoo;
use serial_test::serial;
use zkcluster::testing::TestingCluster;

#[test]
#[serial]
fn a_member_without_quorum_serves_read_only_sessions() {
    let mut cluster = TestingCluster::builder(3).read_only_mode(true).start().unwrap();
    let client = common::client_of(&cluster.connect_string());
    client.create_node("/ro", "before the split").unwrap();
    client.close().unwrap();
    let survivor = cluster.member(0).connect_string();

    cluster.member_mut(1).kill().unwrap();
    cluster.member_mut(2).kill().unwrap();
    // The survivor leaves the quorum and turns read-only; it then says so in `srvr`.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !cluster.member(0).four_letter("srvr").is_ok_and(|s| s.contains("Mode: read-only")) {
        assert!(std::time::Instant::now() < deadline, "member 0 never turned read-only");
        std::thread::sleep(Duration::from_millis(100));
    }

    let said = kazoo::run_bare(
        &format!(
            r#"
from kazoo.exceptions import NotReadOnlyCallError
c = KazooClient(hosts="{survivor}", read_only=True, timeout=5.0)
c.start(timeout=20)
say(c.get("/ro")[0].decode())
try:
    c.set("/ro", b"during the split")
    say("written")
except NotReadOnlyCallError:
    say("refused")
c.stop()
"#
        ),
        Duration::from_secs(60),
    );
    assert_eq!(said, ["before the split", "refused"]);
}
