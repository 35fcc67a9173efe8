fn main() -> zkcluster::Result<()> {
    let client = zkcluster::Client::connect("127.0.0.1:22181")?;
    println!("session {:#x} timeout {:?}", client.session_id(), client.negotiated_timeout());
    let _ = client.delete_recursive("/smoke");
    println!("{}", client.create_node("/smoke", "value")?);
    let node = client.get_node("/smoke")?;
    println!("{:?} {}", node.value_str(), node.stat.version);
    let stat = client.set_value_to_node("/smoke", b"v2")?;
    println!("version {}", stat.version);
    println!("exists {:?}", client.exist_node("/smoke")?.map(|s| s.version));
    let (_, rx) = client.get_node_watch("/smoke")?;
    client.set_value_to_node("/smoke", b"v3")?;
    println!("watch {:?}", rx.recv_timeout(std::time::Duration::from_secs(2)));
    client.ensure_path("/smoke/a/b/c")?;
    println!("children {:?}", client.get_children("/smoke")?);
    println!("deleted {:?}", client.delete_recursive("/smoke")?);
    println!("delete missing {:?}", client.delete_node("/smoke")?);
    let t = std::time::Instant::now();
    for _ in 0..2000 {
        client.exist_node("/")?;
    }
    println!("2000 exists in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let p: Vec<_> = (0..2000).map(|_| client.exist_node_async("/")).collect();
    for x in p {
        x.wait()?;
    }
    println!("2000 pipelined exists in {:?}", t.elapsed());
    client.close()?;
    println!("after close: {:?}", client.get_node("/").map(|_| ()));
    Ok(())
}
