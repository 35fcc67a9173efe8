#!/usr/bin/env python3
"""Kazoo's side of zkcluster's membership benchmark (benches/membership.rs drives it).

    bench_kazoo_membership.py HOSTS     serve workloads read from stdin, one per line

Commands (answered by one line, "ok rate=OPS_PER_SEC n=COUNT" or "err message"):
    joinlist KIND SECS PATH   a new member joins the party at PATH, lists it, leaves; repeated
    list KIND SECS PATH       one member lists the party at PATH; repeated
    quit
KIND is "party" (kazoo.recipe.party.Party) or "shallow" (ShallowParty).
"""

import sys
import time


def connect(hosts):
    from kazoo.client import KazooClient

    client = KazooClient(hosts=hosts, timeout=30.0)
    client.start(timeout=30)
    return client


def party(zk, kind, path, ident):
    if kind == "party":
        return zk.Party(path, ident)
    if kind == "shallow":
        return zk.ShallowParty(path, ident)
    raise ValueError("unknown party kind %r" % kind)


def joinlist(zk, kind, secs, path):
    n = 0
    start = time.monotonic()
    while time.monotonic() - start < secs:
        p = party(zk, kind, path, "kazoo-bench-%d" % n)
        p.join()
        members = list(p)
        if "kazoo-bench-%d" % n not in members:
            raise RuntimeError("the new member is not listed")
        p.leave()
        n += 1
    return n, time.monotonic() - start


def listing(zk, kind, secs, path):
    p = party(zk, kind, path, "kazoo-lister")
    n = 0
    start = time.monotonic()
    while time.monotonic() - start < secs:
        if not list(p):
            raise RuntimeError("the party is empty")
        n += 1
    return n, time.monotonic() - start


def main():
    zk = connect(sys.argv[1])
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            cmd, kind, secs, path = words
            run = {"joinlist": joinlist, "list": listing}[cmd]
            n, took = run(zk, kind, float(secs), path)
            print("ok rate=%f n=%d" % (n / took, n), flush=True)
        except Exception as exc:  # reported to the driver, which fails the run
            print("err %s" % str(exc).replace("\n", " "), flush=True)
    zk.stop()
    zk.close()


if __name__ == "__main__":
    main()
