//! `update_hosts` on a real ensemble: a client whose server leaves its host list resumes the same
//! session on a server that is in it; a chroot cannot change.

mod common;

use serial_test::serial;
use zkcluster::testing::TestingCluster;

#[test]
#[serial]
fn a_client_whose_server_leaves_the_list_resumes_its_session_on_one_in_it() {
    let cluster = TestingCluster::start(3).unwrap();
    let first = cluster.member(0).connect_string();
    common::client_of(&cluster.connect_string()).ensure_path("/app").unwrap();
    let client = common::client_of(&format!("{first}/app"));
    client.create_node("/owned", "before").unwrap();
    assert_eq!(client.server(), first);
    let session = client.session_id();
    let events = client.session_events();

    let others =
        format!("{},{}", cluster.member(1).connect_string(), cluster.member(2).connect_string());
    let err = client.update_hosts(&format!("{others}/elsewhere")).unwrap_err();
    assert!(err.to_string().contains("chroot"), "{err}");
    assert_eq!(client.server(), first, "a refused update changes nothing");

    assert!(client.update_hosts(&others).unwrap(), "its server left the list: it must move");
    let server = common::await_reconnect(&events, session);
    assert_ne!(server, first);
    assert!(others.split(',').any(|h| h == client.server()), "now on {}", client.server());
    client.set_value_to_node("/owned", b"after").unwrap();
    assert_eq!(client.get_node("/owned").unwrap().value, b"after");

    // Staying in the list and the list not growing: nobody moves.
    assert!(!client.update_hosts(&others).unwrap());
}
