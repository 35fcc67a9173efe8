// Curator 5.4's side of zkcluster's coordination benchmark (benches/coordination.rs drives it,
// running this file with `java -cp <Debian's Curator jars> BenchCuratorCoordination.java HOSTS`).
//
// Commands on stdin, each answered by one line ("ok key=value" or "err message"):
//   counter T SECS PATH   T threads sharing one client add 1 to a SharedCount at PATH
//                         (trySetCount until it succeeds) for SECS seconds; ok ops=<adds per s>
//   handover N PATH       N times: a LeaderLatch on its own client leads at PATH/<i>, a second
//                         client's latch waits; the leader's client closes; ok ms=<median ms
//                         until the second latch leads>
//   quit
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryOneTime;

public class BenchCuratorCoordination {
    static CuratorFramework connect(String hosts) throws InterruptedException {
        CuratorFramework client =
                CuratorFrameworkFactory.newClient(hosts, 30000, 30000, new RetryOneTime(100));
        client.start();
        client.blockUntilConnected();
        return client;
    }

    static double counter(CuratorFramework client, int threads, double secs, String path)
            throws Exception {
        SharedCount count = new SharedCount(client, path, 0);
        count.start();
        AtomicLong done = new AtomicLong();
        long stop = System.nanoTime() + (long) (secs * 1e9);
        List<Thread> workers = new ArrayList<>();
        List<Exception> errors = Collections.synchronizedList(new ArrayList<>());
        long started = System.nanoTime();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                try {
                    while (System.nanoTime() < stop) {
                        VersionedValue<Integer> seen = count.getVersionedValue();
                        if (count.trySetCount(seen, seen.getValue() + 1)) {
                            done.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    errors.add(e);
                }
            });
            t.start();
            workers.add(t);
        }
        for (Thread t : workers) {
            t.join();
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        count.close();
        if (!errors.isEmpty()) {
            throw errors.get(0);
        }
        return done.get() / elapsed;
    }

    static double handover(String hosts, int n, String path) throws Exception {
        CuratorFramework follower = connect(hosts);
        List<Double> times = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                String latchPath = path + "/" + i;
                CuratorFramework leaderClient = connect(hosts);
                LeaderLatch leader = new LeaderLatch(leaderClient, latchPath, "leader");
                leader.start();
                if (!leader.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the first latch never led");
                }
                LeaderLatch next = new LeaderLatch(follower, latchPath, "follower");
                next.start();
                while (leader.getParticipants().size() < 2) {
                    Thread.sleep(1);
                }
                long started = System.nanoTime();
                leaderClient.close();
                if (!next.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the second latch never led");
                }
                times.add((System.nanoTime() - started) / 1e6);
                next.close();
            }
        } finally {
            follower.close();
        }
        Collections.sort(times);
        int m = times.size();
        return m % 2 == 1 ? times.get(m / 2) : (times.get(m / 2 - 1) + times.get(m / 2)) / 2;
    }

    public static void main(String[] args) throws Exception {
        String hosts = args[0];
        CuratorFramework client = connect(hosts);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split("\\s+");
            if (w[0].isEmpty()) {
                continue;
            }
            if (w[0].equals("quit")) {
                break;
            }
            try {
                if (w[0].equals("counter")) {
                    double ops = counter(client, Integer.parseInt(w[1]), Double.parseDouble(w[2]), w[3]);
                    System.out.println("ok ops=" + ops);
                } else if (w[0].equals("handover")) {
                    System.out.println("ok ms=" + handover(hosts, Integer.parseInt(w[1]), w[2]));
                } else {
                    System.out.println("err unknown command " + w[0]);
                }
            } catch (Exception e) {
                System.out.println("err " + e.toString().replace('\n', ' '));
            }
            System.out.flush();
        }
        client.close();
    }
}
