// Curator's side of zkcluster's comparison benchmark (benches/compare.rs drives it, as it drives
// scripts/bench_kazoo.py): Apache Curator 5.4 from Debian's libcurator-recipes-java, compiled
// at bench time by scripts/curator-peer.sh.
//
//     java -cp CLASSPATH CuratorBench HOSTS     serve workloads read from stdin, one per line
//
// Commands (answered by one line, "ok key=value ..." or "err message"):
//     serial N BASE          create/get/set/exists/delete N nodes under BASE, each phase timed
//     lock KIND SECS PATH    uncontended acquire+release cycles; KIND: write|read|semaphore
//     handoff T SECS PATH    T threads, one client each, passing one InterProcessMutex
//     warmup SECS BASE       runs the workloads above for SECS in all under BASE (then deletes
//                            it), so the JIT has compiled Curator's paths before anything is timed
//     quit

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessLock;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.RetryOneTime;

public final class CuratorBench {
    static final byte[] VALUE = "0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    static final byte[] VALUE2 = "fedcba9876543210".getBytes(StandardCharsets.UTF_8);
    /** The same lease count as the Rust and Kazoo peers (benches/common/mod.rs). */
    static final int SEMAPHORE_LEASES = 4;

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CuratorBench HOSTS");
            System.exit(2);
        }
        String hosts = args[0];
        CuratorFramework zk = connect(hosts);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split("\\s+");
            if (w.length == 0 || w[0].isEmpty()) {
                continue;
            }
            if (w[0].equals("quit")) {
                break;
            }
            try {
                Map<String, Double> result;
                switch (w[0]) {
                    case "serial":
                        result = serial(zk, Integer.parseInt(w[1]), w[2]);
                        break;
                    case "lock":
                        result = lockCycles(zk, w[1], Double.parseDouble(w[2]), w[3]);
                        break;
                    case "handoff":
                        result = handoff(hosts, Integer.parseInt(w[1]), Double.parseDouble(w[2]), w[3]);
                        break;
                    case "warmup":
                        result = warmUp(zk, hosts, Double.parseDouble(w[1]), w[2]);
                        break;
                    default:
                        throw new IllegalArgumentException("unknown command " + w[0]);
                }
                StringBuilder out = new StringBuilder("ok");
                for (Map.Entry<String, Double> e : result.entrySet()) {
                    out.append(' ').append(e.getKey()).append('=').append(String.format("%.3f", e.getValue()));
                }
                System.out.println(out);
            } catch (Exception e) {
                System.out.println("err " + e.getClass().getSimpleName() + ": "
                        + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
            System.out.flush();
        }
        zk.close();
    }

    static CuratorFramework connect(String hosts) throws InterruptedException {
        CuratorFramework zk = CuratorFrameworkFactory.newClient(hosts, 30_000, 30_000, new RetryOneTime(100));
        zk.start();
        if (!zk.blockUntilConnected(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no connection to " + hosts + " within 30 s");
        }
        return zk;
    }

    interface Phase {
        void run(String path) throws Exception;
    }

    static Map<String, Double> serial(CuratorFramework zk, int n, String base) throws Exception {
        zk.create().forPath(base, new byte[0]);
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            paths.add(base + "/n" + i);
        }
        Map<String, Double> result = new LinkedHashMap<>();
        String[] names = {"create", "get", "set", "exists", "delete"};
        Phase[] phases = {
            p -> zk.create().forPath(p, VALUE),
            p -> zk.getData().forPath(p),
            p -> zk.setData().forPath(p, VALUE2),
            p -> {
                if (zk.checkExists().forPath(p) == null) {
                    throw new IllegalStateException("missing node " + p);
                }
            },
            p -> zk.delete().forPath(p),
        };
        for (int k = 0; k < names.length; k++) {
            long start = System.nanoTime();
            for (String p : paths) {
                phases[k].run(p);
            }
            result.put(names[k], n / ((System.nanoTime() - start) / 1e9));
        }
        return result;
    }

    /** One acquire + release of the recipe KIND names. */
    interface Cycle {
        void once() throws Exception;
    }

    static Cycle recipe(CuratorFramework zk, String kind, String path) {
        switch (kind) {
            case "write": {
                InterProcessLock lock = new InterProcessMutex(zk, path);
                return () -> {
                    lock.acquire();
                    lock.release();
                };
            }
            case "read": {
                InterProcessLock lock = new InterProcessReadWriteLock(zk, path).readLock();
                return () -> {
                    lock.acquire();
                    lock.release();
                };
            }
            case "semaphore": {
                InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(zk, path, SEMAPHORE_LEASES);
                return () -> {
                    Lease lease = semaphore.acquire();
                    semaphore.returnLease(lease);
                };
            }
            default:
                throw new IllegalArgumentException("unknown lock kind " + kind);
        }
    }

    static Map<String, Double> lockCycles(CuratorFramework zk, String kind, double secs, String path)
            throws Exception {
        Cycle cycle = recipe(zk, kind, path);
        cycle.once(); // creates the lock's path
        long start = System.nanoTime();
        long end = start + (long) (secs * 1e9);
        long n = 0;
        while (System.nanoTime() < end) {
            cycle.once();
            n++;
        }
        Map<String, Double> result = new LinkedHashMap<>();
        result.put("ops", n / ((System.nanoTime() - start) / 1e9));
        return result;
    }

    static Map<String, Double> warmUp(CuratorFramework zk, String hosts, double secs, String base)
            throws Exception {
        double slice = secs / 5;
        long start = System.nanoTime();
        zk.create().creatingParentsIfNeeded().forPath(base);
        for (int round = 0; System.nanoTime() - start < secs * 1e9; round++) {
            String dir = base + "/r" + round;
            serial(zk, 200, dir + "-serial");
            for (String kind : new String[] {"write", "read", "semaphore"}) {
                lockCycles(zk, kind, slice, dir + "-" + kind);
            }
            handoff(hosts, 4, slice, dir + "-handoff");
        }
        zk.delete().deletingChildrenIfNeeded().forPath(base);
        Map<String, Double> result = new LinkedHashMap<>();
        result.put("secs", (System.nanoTime() - start) / 1e9);
        return result;
    }

    static Map<String, Double> handoff(String hosts, int threads, double secs, String path) throws Exception {
        List<CuratorFramework> clients = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            clients.add(connect(hosts));
        }
        clients.get(0).createContainers(path);
        AtomicBoolean stop = new AtomicBoolean(false);
        AtomicLong released = new AtomicLong();
        AtomicReference<Exception> error = new AtomicReference<>();
        long deadline = System.nanoTime() + (long) (secs * 1e9);
        List<Thread> workers = new ArrayList<>();
        for (CuratorFramework client : clients) {
            InterProcessMutex lock = new InterProcessMutex(client, path);
            Thread t = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        lock.acquire();
                        // Counted while held, so a release after the deadline is not counted.
                        if (System.nanoTime() < deadline) {
                            released.incrementAndGet();
                        }
                        lock.release();
                    }
                } catch (Exception e) {
                    error.compareAndSet(null, e);
                }
            });
            workers.add(t);
            t.start();
        }
        Thread.sleep((long) (secs * 1000));
        stop.set(true);
        for (Thread t : workers) {
            t.join();
        }
        for (CuratorFramework client : clients) {
            client.close();
        }
        if (error.get() != null) {
            throw error.get();
        }
        Map<String, Double> result = new LinkedHashMap<>();
        result.put("ops", released.get() / secs);
        return result;
    }
}
