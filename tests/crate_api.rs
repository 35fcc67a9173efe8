//! The crate's public surface as a user meets it, against a real ZooKeeper: error conversions
//! and sources, the chroot check, create with stat, the protected create and guaranteed delete
//! building blocks, and what `Debug`, `FromStr` and the companion enum give.

mod common;

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use common::proxy::Proxy;
use common::{client, client_of, eventually, server, test_root, unique};
use zkcluster::testing::TestingServer;
use zkcluster::{
    guaranteed_delete, guaranteed_delete_prefix, Client, CreateMode, CreateOptions, Error,
    ProtectedCreate, Recipe, Restriction, SessionEvent, ZookeeperRecipe,
};

const LONG: Duration = Duration::from_secs(10);

#[test]
fn connect_failure_keeps_the_io_error_as_its_source() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = Client::builder(&format!("127.0.0.1:{port}"))
        .connect_timeout(Duration::from_millis(500))
        .connect()
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let source = err.source().expect("the refused connect is the source");
    let io = source.downcast_ref::<std::io::Error>().expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// `?` turns the test kit's and the recipe parser's errors into `zkcluster::Error`.
fn parse_and_connect(recipe: &str) -> zkcluster::Result<(ZookeeperRecipe, Client)> {
    let server: &TestingServer = TestingServer::shared()?;
    let recipe: ZookeeperRecipe = recipe.parse()?;
    Ok((recipe, Client::connect(&server.connect_string())?))
}

#[test]
fn question_mark_converts_testing_and_parse_errors() {
    let (recipe, client) = parse_and_connect("WRITE_LOCK").unwrap();
    assert_eq!(recipe, ZookeeperRecipe::WriteLock);
    assert!(client.state().is_connected());
    let err = parse_and_connect("Mutex").map(drop).unwrap_err();
    assert!(matches!(err, Error::ParseRecipe(ref e) if e.input() == "Mutex"), "{err:?}");
    assert!(err.to_string().contains("expected one of: ReadLock, WriteLock, Semaphore"), "{err}");
}

#[test]
fn builtin_recipes_parse_by_type_name_variant_name_and_python_member_name() {
    for (input, recipe) in [
        ("ReadLock", ZookeeperRecipe::ReadLock),
        ("READ_LOCK", ZookeeperRecipe::ReadLock),
        ("WriteLock", ZookeeperRecipe::WriteLock),
        ("WRITE_LOCK", ZookeeperRecipe::WriteLock),
        ("Semaphore", ZookeeperRecipe::Semaphore),
        ("SEMAPHORE", ZookeeperRecipe::Semaphore),
    ] {
        assert_eq!(input.parse::<ZookeeperRecipe>(), Ok(recipe), "{input}");
    }
    assert!("read_lock".parse::<ZookeeperRecipe>().is_err());
}

#[test]
fn missing_chroot_fails_connect_naming_it() {
    let chroot = unique("no-chroot");
    let err = Client::connect(&format!("{}{chroot}/app", server().connect_string())).unwrap_err();
    assert!(matches!(err, Error::ChrootMissing { chroot: ref c } if *c == format!("{chroot}/app")));
    assert!(err.to_string().contains(&chroot), "{err}");
    assert!(err.to_string().contains("create_chroot(true)"), "{err}");
    assert!(client().exist_node(&chroot).unwrap().is_none(), "nothing was created");
}

#[test]
fn create_chroot_makes_it_with_its_parents() {
    let chroot = format!("{}/a/b", unique("make-chroot"));
    let rooted = Client::builder(&format!("{}{chroot}", server().connect_string()))
        .create_chroot(true)
        .connect()
        .unwrap();
    assert_eq!(rooted.create_node("/n", "x").unwrap(), "/n");
    assert_eq!(client().get_node(&format!("{chroot}/n")).unwrap().value, b"x");
    // Existing already: nothing to do, and without the option too.
    let again = Client::connect(&format!("{}{chroot}", server().connect_string())).unwrap();
    assert!(again.exist_node("/n").unwrap().is_some());
}

#[test]
fn create_with_stat_returns_the_new_nodes_stat() {
    let c = client();
    let root = test_root(&c, "create-stat");

    let (path, stat) =
        c.create_with_stat(&format!("{root}/p"), b"abc", &CreateOptions::new()).unwrap();
    assert_eq!(path, format!("{root}/p"));
    assert_eq!((stat.version, stat.data_length, stat.ephemeral_owner), (0, 3, 0));
    assert_eq!(c.exist_node(&path).unwrap(), Some(stat), "the same stat the server keeps");

    let ephemeral = CreateOptions::new().mode(CreateMode::EphemeralSequential);
    let (path, stat) = c.create_with_stat(&format!("{root}/e-"), b"", &ephemeral).unwrap();
    assert_eq!(path.len(), format!("{root}/e-").len() + 10);
    assert_eq!(stat.ephemeral_owner, c.session_id());

    let nested = CreateOptions::new().parents();
    let (path, stat) = c.create_with_stat(&format!("{root}/x/y/z"), b"z", &nested).unwrap();
    assert_eq!(path, format!("{root}/x/y/z"));
    assert_eq!(stat.data_length, 1);

    let container = CreateOptions::new().mode(CreateMode::Container);
    let (_, stat) = c.create_with_stat(&format!("{root}/c"), b"", &container).unwrap();
    assert_eq!(stat.version, 0);

    let err = c.create_with_stat(&format!("{root}/p"), b"", &CreateOptions::new()).unwrap_err();
    assert!(err.is_node_exists(), "{err}");
}

#[test]
fn protected_create_names_the_node_by_its_prefix_and_finds_it() {
    let c = client();
    let root = test_root(&c, "protected");
    let options = CreateOptions::new().ephemeral().sequential();
    let create = ProtectedCreate::new(&c, &root, "lease-", b"me", &options).unwrap();
    assert_eq!(create.find().unwrap(), None);
    let node = create.create().unwrap();
    assert!(node.starts_with(&format!("{root}/{}", create.prefix())), "{node}");
    assert!(create.prefix().ends_with("lease-"));
    assert_eq!(create.find().unwrap().as_deref(), Some(node.as_str()));
    create.discard();
    assert!(eventually(LONG, || c.get_children(&root).unwrap().is_empty()));

    assert!(matches!(
        ProtectedCreate::new(&c, &root, "a/b", b"", &options),
        Err(Error::InvalidPath { .. })
    ));
}

/// The create's reply is lost with the connection: after the reconnect the node is found by its
/// prefix and owner, and no second node is made.
#[test]
fn protected_create_adopts_its_node_after_a_lost_reply() {
    let observer = client();
    let root = test_root(&observer, "protected-lost");
    let proxy = Arc::new(Proxy::start(&server().connect_string()));
    let c = client_of(&proxy.connect_string());
    let session = c.session_id();
    let options = CreateOptions::new().ephemeral().sequential();
    let create = ProtectedCreate::new(&c, &root, "n-", b"me", &options).unwrap();

    let events = c.session_events();
    let restorer = {
        let proxy = proxy.clone();
        std::thread::spawn(move || {
            while let Ok(event) = events.recv_timeout(LONG) {
                if matches!(event, SessionEvent::Suspended { .. }) {
                    proxy.restore();
                    return true;
                }
            }
            false
        })
    };
    proxy.lose_next_reply();
    let node = create.create_timeout(LONG).unwrap();
    assert!(restorer.join().unwrap(), "the connection broke");
    assert_eq!(c.session_id(), session, "the session survived");
    let children = observer.get_children(&root).unwrap();
    assert_eq!(children.len(), 1, "one node, not a second for the retry: {children:?}");
    assert_eq!(node, format!("{root}/{}", children[0]));
    assert_eq!(observer.exist_node(&node).unwrap().unwrap().ephemeral_owner, session);
}

#[test]
fn guaranteed_delete_deletes_now_or_once_the_server_is_back() {
    let observer = client();
    let root = test_root(&observer, "guaranteed");
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let eph = CreateOptions::new().ephemeral();

    let now = c.create(&format!("{root}/now"), b"", &eph).unwrap();
    assert_eq!(guaranteed_delete(&c, &now).ok(), Some(true));
    assert!(observer.exist_node(&now).unwrap().is_none());
    assert_eq!(guaranteed_delete(&c, &now).ok(), Some(true), "nothing there is fine");

    let later = c.create(&format!("{root}/later"), b"", &eph).unwrap();
    let prefixed = c.create(&format!("{root}/job-1-"), b"", &eph.clone().sequential()).unwrap();
    proxy.cut();
    assert!(eventually(LONG, || !c.state().is_connected()));
    assert_eq!(guaranteed_delete(&c, &later).ok(), Some(false), "goes on in the background");
    assert_eq!(guaranteed_delete_prefix(&c, &root, "job-1-").ok(), Some(false));
    proxy.restore();
    assert!(eventually(LONG, || observer.get_children(&root).unwrap().is_empty()));
    assert!(observer.exist_node(&prefixed).unwrap().is_none());

    // Not retryable: a node with children.
    observer.create(&format!("{root}/parent/child"), b"", &CreateOptions::new().parents()).unwrap();
    let err = guaranteed_delete(&c, &format!("{root}/parent")).unwrap_err();
    assert!(err.is_not_empty(), "{err}");
}

#[test]
fn locks_and_the_companion_enum_are_debug_and_reach_the_concrete_lock() {
    let c = client();
    let path = unique("debug");
    let sem = c.restrict(&path, ZookeeperRecipe::Semaphore, "w1", Some(3)).unwrap();
    assert_eq!(sem.as_semaphore().map(|s| s.max_leases()), Some(3));
    assert!(sem.as_write_lock().is_none());
    let debug = format!("{sem:?}");
    assert!(debug.starts_with("ZookeeperRecipeRestriction::Semaphore"), "{debug}");
    assert!(debug.contains(&path), "{debug}");
    let semaphore = sem.into_semaphore().unwrap();
    let debug = format!("{semaphore:?}");
    assert!(debug.starts_with("Semaphore {") && debug.contains("max_leases: 3"), "{debug}");

    let read = c.restrict(&path, ZookeeperRecipe::ReadLock, "r", None).unwrap();
    assert!(format!("{:?}", read.as_read_lock().unwrap()).starts_with("ReadLock {"));
    let write = c.restrict(&path, ZookeeperRecipe::WriteLock, "w", None).unwrap();
    let write = write.into_write_lock().unwrap();
    assert!(format!("{write:?}").contains(&path));
    assert_eq!(ZookeeperRecipe::ALL.len(), 3);
    assert_eq!(write.path(), path);
}
