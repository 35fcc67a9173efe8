// Curator 5.4's SharedCount as a peer in tests/recipes_counter.rs: adds 1 to the shared count
// at PATH, N times, with Curator's own compare-and-set (trySetCount), then prints the count.
//
//   java -cp <Debian's curator, zookeeper, guava, slf4j jars> SharedCountPeer.java HOSTS PATH N
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryOneTime;

public class SharedCountPeer {
    public static void main(String[] args) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.newClient(args[0], new RetryOneTime(100));
        client.start();
        client.blockUntilConnected();
        SharedCount count = new SharedCount(client, args[1], 0);
        count.start();
        System.out.println("started " + count.getCount());
        int wanted = Integer.parseInt(args[2]);
        int done = 0;
        while (done < wanted) {
            VersionedValue<Integer> seen = count.getVersionedValue();
            if (count.trySetCount(seen, seen.getValue() + 1)) {
                done++;
            }
        }
        System.out.println("done");
        count.close();
        client.close();
    }
}
