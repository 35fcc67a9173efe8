#!/usr/bin/env python3
"""Kazoo's side of zkcluster's coordination benchmark (benches/coordination.rs drives it).

    bench_kazoo_coordination.py HOSTS    serve workloads read from stdin, one per line

Commands (answered by one line, "ok key=value ..." or "err message"):
    counter T SECS PATH    T threads sharing one client add 1 to Counter(PATH) for SECS seconds
    handover N PATH        N times: a leader client leads Election(PATH), a second client
                           waits; the leader's client stops (closing its session); reports the
                           median milliseconds until the second one leads
    quit
"""

import statistics
import sys
import threading
import time

from bench_kazoo import connect  # the comparison bench's client settings (same folder)


def counter(zk, threads, secs, path):
    zk.ensure_path(path)
    stop = time.perf_counter() + secs
    done = [0] * threads

    def work(i):
        c = zk.Counter(path)
        while time.perf_counter() < stop:
            c += 1
            done[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    return {"ops": sum(done) / elapsed}


def handover(hosts, n, path):
    follower_zk = connect(hosts)
    times = []
    try:
        for i in range(n):
            election_path = "%s/%d" % (path, i)
            leader_zk = connect(hosts)
            leading = threading.Event()
            release = threading.Event()
            followed = threading.Event()
            leader = leader_zk.Election(election_path, "leader")
            follower = follower_zk.Election(election_path, "follower")

            def lead():
                leading.set()
                release.wait()

            def run_leader():
                try:
                    leader.run(lead)
                except Exception:
                    pass  # its session is closed under it

            leader_thread = threading.Thread(target=run_leader)
            leader_thread.start()
            leading.wait()
            follower_thread = threading.Thread(target=lambda: follower.run(followed.set))
            follower_thread.start()
            while len(follower.contenders()) < 2:
                time.sleep(0.001)
            start = time.perf_counter()
            leader_zk.stop()
            followed.wait()
            times.append((time.perf_counter() - start) * 1000.0)
            release.set()
            follower_thread.join()
            leader_thread.join()
            leader_zk.close()
    finally:
        follower_zk.stop()
        follower_zk.close()
    return {"ms": statistics.median(times)}


def main():
    hosts = sys.argv[1]
    zk = connect(hosts)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            if words[0] == "counter":
                result = counter(zk, int(words[1]), float(words[2]), words[3])
            elif words[0] == "handover":
                result = handover(hosts, int(words[1]), words[2])
            else:
                raise ValueError("unknown command %r" % words[0])
            print("ok " + " ".join("%s=%f" % kv for kv in result.items()), flush=True)
        except Exception as e:  # reported to the driver, which fails the run
            print("err %s: %s" % (type(e).__name__, str(e).replace("\n", " ")), flush=True)
    zk.stop()
    zk.close()


if __name__ == "__main__":
    main()
