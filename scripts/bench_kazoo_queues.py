#!/usr/bin/env python3
"""Kazoo's side of zkcluster's queue and tree-cache benchmark (benches/queues.rs drives it).

    bench_kazoo_queues.py HOSTS     serve commands read from stdin, one per line

Commands (answered by one line, "ok key=value ..." or "err message"):
    qput PATH N           N Queue.put calls, one after the other
    qget PATH K           K Queue.get calls on a queue that holds at least K items
    lqget PATH K          K LockingQueue.get + consume on a queue that holds at least K items
    tree PATH N           start a TreeCache on PATH (a tree of N nodes), wait until it is
                          initialized: load time and resident memory it added
    storm K               then say "ready", read "go", and count NODE_UPDATED events of that
                          cache until K arrived: events per second from "go"
    quit
"""

import sys
import threading
import time


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    from kazoo.client import KazooClient
    from kazoo.recipe.cache import TreeCache, TreeEvent
    from kazoo.recipe.queue import LockingQueue, Queue

    zk = KazooClient(hosts=sys.argv[1], timeout=30.0)
    zk.start(timeout=30)
    cache = None
    updates = {"n": 0, "target": None, "done": threading.Event()}

    def listener(event):
        if event.event_type == TreeEvent.NODE_UPDATED:
            updates["n"] += 1
            if updates["target"] is not None and updates["n"] >= updates["target"]:
                updates["done"].set()

    def say(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        try:
            if cmd == "quit":
                break
            elif cmd == "qput":
                q, n = Queue(zk, words[1]), int(words[2])
                start = time.perf_counter()
                for i in range(n):
                    q.put(b"item-%d" % i)
                say("ok rate=%f" % (n / (time.perf_counter() - start)))
            elif cmd == "qget":
                q, k = Queue(zk, words[1]), int(words[2])
                start = time.perf_counter()
                for _ in range(k):
                    if q.get() is None:
                        raise RuntimeError("queue ran dry")
                say("ok rate=%f" % (k / (time.perf_counter() - start)))
            elif cmd == "lqget":
                q, k = LockingQueue(zk, words[1]), int(words[2])
                start = time.perf_counter()
                for _ in range(k):
                    if q.get(5) is None or not q.consume():
                        raise RuntimeError("queue ran dry")
                say("ok rate=%f" % (k / (time.perf_counter() - start)))
            elif cmd == "tree":
                before = rss_kb()
                ready = threading.Event()

                def initialized(event):
                    if event.event_type == TreeEvent.INITIALIZED:
                        ready.set()

                start = time.perf_counter()
                cache = TreeCache(zk, words[1])
                cache.listen(initialized)
                cache.listen(listener)
                cache.start()
                if not ready.wait(600):
                    raise RuntimeError("TreeCache not initialized in 600 s")
                took = time.perf_counter() - start
                say("ok load_s=%f rss_kb=%d" % (took, rss_kb() - before))
            elif cmd == "storm":
                updates["n"], updates["target"] = 0, int(words[1])
                updates["done"].clear()
                say("ready")
                if sys.stdin.readline().strip() != "go":
                    raise RuntimeError("expected go")
                start = time.perf_counter()
                if not updates["done"].wait(600):
                    raise RuntimeError("saw %d of %s updates" % (updates["n"], words[1]))
                say("ok rate=%f" % (updates["target"] / (time.perf_counter() - start)))
                cache.close()
                cache = None
            else:
                say("err unknown command %s" % cmd)
        except Exception as e:  # reported to the bench, which fails loudly
            say("err %s: %s" % (type(e).__name__, str(e).replace("\n", " ")))
    zk.stop()
    zk.close()


if __name__ == "__main__":
    main()
