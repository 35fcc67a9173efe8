#!/usr/bin/env python3
"""The Kazoo crawler of the crawler demo's mixed fleet.

A standalone crawler member written against Kazoo 2.11 only (plus the standard library). It
joins the same crawl as the demo's Rust members, on the same ZooKeeper nodes, through Kazoo's
own recipes; the node layout and the protocol are those of examples/crawler (crawl-spec.md), so
Rust and Python members share one frontier, one set of claims, one politeness budget per
domain and one page counter.

Usage::

    kazoo_crawler.py --member kazoo-0 --hosts 127.0.0.1:2181 --root /zkcluster-demo/RUN
                     --events DIR [--workers 2] [--session-timeout-ms 6000] [--seeds URL,...]

What one member does, with root R:

- joins the ``Party`` at R/party (data = the member id), again after every lost session;
- waits for R/config, then reads it under the ``ReadLock`` at R/config-lock: at start, when
  its data watch fires, after every reconnect, and at least every 20 pages;
- runs W worker threads. Each takes a URL from the ``LockingQueue`` R/frontier, claims it
  with the ``WriteLock`` R/claims/<sha1(url)> (the creation zxid of its lock node is the
  fencing token), skips it if R/results/<key> exists (a predecessor died after committing),
  fetches it over HTTP holding a lease of the ``Semaphore`` R/politeness/<host_port>
  (max_leases = the config's politeness), extracts its links and commits the page in one
  transaction fenced by a check of the claim's lock node: the result record, and for every
  new link its R/seen node and its frontier entry. Then it counts the page on the ``Counter``
  R/pages, consumes the item and releases the claim;
- follows ``<a href>`` links that are absolute ``http://`` or root-relative, spelled exactly
  as the Rust members spell them (the URL string is the key), on the demo's domains only:
  those of ``--seeds`` (or of a "domains" list in R/config), else any loopback host;
- appends its events as JSON lines to DIR/<member>.jsonl (joined, config, fetch, recovered,
  stale_rejected, session_expired, lease_uncertain, late_fetch, done);
- exits with status 0 once R/finished exists (2 on bad arguments or a server it cannot reach
  at start, 3 if the process that started it is gone: no orphan crawls on).

Failure modes, and what the crawler does about them:

- Connection loss (SUSPENDED): Kazoo reconnects on its own; calls are retried with Kazoo's
  retry policy, so the item in hand is kept. A commit whose reply was lost is resolved after
  reconnecting: the record is read back, and it is ours only if it carries our token;
  otherwise the commit is sent again and the server decides (the fence makes the retry safe).
  A queue hold whose create reply was lost is found by its holder id and deleted (after every
  connection loss, and whenever a get finds nothing), so it does not block its item for the
  rest of the session. Likewise a lock acquire that times out while
  disconnected (Kazoo's clean-up of its node is best effort and fails then): the contender
  node is found by its prefix and deleted, for the claims and the config ReadLock. Lease
  acquires do not time out, for that reason: an orphaned node there would block a domain.
- Session expiry (LOST): every ephemeral node of the session is gone — the queue hold, the
  claim, the lease, the party node. The state listener logs ``session_expired``; the worker
  abandons the item in hand (its fenced commit is refused by the server: ``stale_rejected``),
  the member joins the party again, and the crawl goes on in the new session. The item is
  back in the queue for whoever takes it next, who finds the result if the commit had landed.
- A process stopped (SIGSTOP, a stall) past its session timeout while holding a lease would,
  once resumed, send its request on a lease that is gone: one request more than politeness
  allows. So the lease node is confirmed on the server right before every request (if it is
  gone: ``lease_uncertain``, the item goes back), and again after it (if it is gone then, the
  request may have gone out on a lost lease: ``late_fetch``).
- A member that dies between its commit and its consume leaves a recorded page in the queue:
  the next holder logs ``recovered`` and consumes it; a page is never recorded twice.
- The counter is a progress figure, the results are exact: a member killed between its commit
  and its count leaves it one short (the page's next holder cannot tell whether it was
  counted), and a connection loss during the counter's compare-and-set may count a page twice
  (Kazoo's ``Counter`` retries a write whose outcome is unknown).
- HTTP errors (404, 500) are results with their status; a connection error or a timeout is
  retried once, then recorded with status 0. Links are followed from 200 pages only.
"""

import argparse
import hashlib
import http.client
import json
import logging
import os
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (
    ConnectionLoss,
    KazooException,
    LockTimeout,
    NoNodeError,
    OperationTimeoutError,
    RolledBackError,
    RuntimeInconsistency,
    SessionExpiredError,
)
from kazoo.handlers.threading import KazooTimeoutError

# Waits, in seconds.
QUEUE_WAIT = 1.0  # one LockingQueue get; then check whether the crawl is finished
CLAIM_WAIT = 5.0  # the claim lock; on timeout the item goes back to the queue
CONFIG_LOCK_WAIT = 10.0  # the config ReadLock
HTTP_TIMEOUT = 30.0  # one HTTP request
COMMIT_DEADLINE = 120.0  # a commit still unresolved by then is abandoned
FINISH_WAIT = 15.0  # for the workers to stop once R/finished exists
CONFIG_EVERY_PAGES = 20  # re-read the config at least this often
FRONTIER_PRIORITY = 100

# Exit status when the process that started us (the orchestrator) is gone, as the Rust members'.
ORPHANED = 3

# Errors that leave the outcome of a call unknown: the call may or may not have been applied.
UNCERTAIN = (ConnectionLoss, OperationTimeoutError, SessionExpiredError)


def now_ms():
    """Unix time in milliseconds (all members are on one machine)."""
    return int(time.time() * 1000)


def url_key(url):
    """The node name of a URL: lowercase hex SHA-1 of its UTF-8 bytes."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def authority(url):
    """`host:port` of an http URL (what follows `http://` up to the first '/'), as events and
    the politeness paths spell it."""
    rest = url.removeprefix("http://")
    return rest.split("/", 1)[0]


def watcher(event):
    """A Kazoo watch function that sets `event`. Make it once and pass the same function to
    every call: Kazoo keeps one entry per distinct function until the watch fires."""

    def watch(_event):
        event.set()

    return watch


def failure(error):
    """An unexpected error, with where it left this script and where it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if f.filename == __file__] or frames
    here = ours[-1]
    there = frames[-1]
    return (
        f"{error!r} in {here.name} (line {here.lineno}), "
        f"raised in {there.name} ({os.path.basename(there.filename)}:{there.lineno})"
    )


# --- the node layout ---------------------------------------------------------------------------


class Layout:
    """The demo's node paths under the run's root (see crawl-spec.md)."""

    def __init__(self, root):
        self.root = root.rstrip("/")
        self.party = self.root + "/party"
        self.config = self.root + "/config"
        self.config_lock = self.root + "/config-lock"
        self.frontier = self.root + "/frontier"
        self.frontier_entry = f"{self.root}/frontier/entries/entry-{FRONTIER_PRIORITY:03d}-"
        self.pages = self.root + "/pages"
        self.finished = self.root + "/finished"
        self.dirs = [self.root + d for d in ("/seen", "/claims", "/results", "/politeness")]

    def seen(self, key):
        return f"{self.root}/seen/{key}"

    def claim(self, key):
        return f"{self.root}/claims/{key}"

    def result(self, key):
        return f"{self.root}/results/{key}"

    def politeness(self, url):
        """The Semaphore of a URL's domain: its authority with ':' replaced by '_'."""
        return f"{self.root}/politeness/{authority(url).replace(':', '_')}"


# --- events ------------------------------------------------------------------------------------


class EventLog:
    """The member's JSON-lines events file, shared by its threads; one flushed line per event."""

    def __init__(self, directory, member):
        os.makedirs(directory, exist_ok=True)
        self.member = member
        self._file = open(os.path.join(directory, member + ".jsonl"), "a", encoding="utf-8")
        self._lock = threading.Lock()

    def log(self, kind, **fields):
        event = {"t": now_ms(), "member": self.member, "kind": kind}
        event.update(fields)
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self):
        with self._lock:
            self._file.close()


# --- the session -------------------------------------------------------------------------------


class Session:
    """Follows the Kazoo client's state through a state listener.

    `epoch` counts lost sessions: an item claimed in an earlier epoch is known lost, with its
    hold, claim and lease. `drops` counts connection losses of any kind. The listener runs on
    Kazoo's connection thread, so it only records; the threads act on what it recorded.
    """

    def __init__(self, zk, events):
        self.zk = zk
        self.events = events
        self.epoch = 0
        self.drops = 0
        self.closing = False
        self.connected = threading.Event()
        self.on_reconnect = []  # callables run (on Kazoo's thread, so cheap) on CONNECTED
        zk.add_listener(self._listen)

    def _listen(self, state):
        if state == KazooState.CONNECTED:
            self.connected.set()
            for callback in self.on_reconnect:
                callback()
            return
        self.connected.clear()
        self.drops += 1
        if state == KazooState.LOST and not self.closing:
            self.epoch += 1
            self.events.log("session_expired")

    def wait_connected(self, timeout=None):
        """True once the client is connected (False if `timeout` passed first)."""
        return self.connected.wait(timeout)


# --- Kazoo locks ------------------------------------------------------------------------------


def acquire_or_clean_up(zk, lock, timeout):
    """Acquires a Kazoo Lock/ReadLock/WriteLock within `timeout` seconds; False if it timed out.

    A timed-out (or failed) acquire deletes its contender node, but Kazoo's own clean-up is
    best effort: while disconnected it fails silently and the node stays for the rest of the
    session, blocking every later contender. So after a failure the node is looked for by the
    lock's unique prefix and deleted once the server can be reached.
    """
    try:
        if lock.acquire(timeout=timeout):
            return True
    except LockTimeout:
        pass
    except KazooException:
        drop_contender_nodes(zk, lock)
        raise
    drop_contender_nodes(zk, lock)
    return False


def drop_contender_nodes(zk, lock):
    """Deletes the contender nodes of a Kazoo lock object that does not hold the lock."""
    try:
        for child in zk.retry(zk.get_children, lock.path):
            if child.startswith(lock.prefix):
                zk.retry(zk.delete, lock.path + "/" + child)
    except NoNodeError:
        pass


# --- the crawl configuration --------------------------------------------------------------------


class CrawlConfig:
    """R/config, read under the ReadLock at R/config-lock.

    Re-read when its data watch fires, after a reconnect (watches are reset), and at least
    every CONFIG_EVERY_PAGES pages. `politeness` is read once: it never changes during a run,
    and Kazoo's Semaphore refuses a changed max_leases.
    """

    def __init__(self, zk, layout, member, seeds, events):
        self.zk = zk
        self.layout = layout
        self.events = events
        self.read_lock = zk.ReadLock(layout.config_lock, member)
        self.politeness = None
        self.delay_ms = 0
        self.generation = None
        self.domains = {authority(u) for u in seeds}
        self._stale = True
        self._pages_since_read = 0
        self._lock = threading.Lock()

    def mark_stale(self, _event=None):
        self._stale = True

    def page_done(self):
        with self._lock:
            self._pages_since_read += 1

    def wait_published(self, stop):
        """Blocks until the coordinator has published R/config (or `stop` is set)."""
        published = threading.Event()
        watch = watcher(published)
        while not stop.is_set():
            if self.zk.retry(self.zk.exists, self.layout.config, watch=watch):
                return True
            published.wait(1.0)
        return False

    def refresh_if_due(self):
        """Re-reads the config if it is due; one thread reads, the others go on."""
        due = self._stale or self._pages_since_read >= CONFIG_EVERY_PAGES
        if not due or not self._lock.acquire(blocking=False):
            return
        try:
            self._read()
        finally:
            self._lock.release()

    def read_first(self, stop):
        """Blocks until R/config is published and read (False if `stop` was set first)."""
        while self.politeness is None:
            if not self.wait_published(stop):
                return False
            self.refresh_if_due()
        return True

    def _read(self):
        if not acquire_or_clean_up(self.zk, self.read_lock, CONFIG_LOCK_WAIT):
            return  # still stale: the next item tries again
        try:
            self._stale = False  # before the read: a change after it marks it stale again
            self._pages_since_read = 0
            data, _ = self.zk.retry(self.zk.get, self.layout.config, watch=self.mark_stale)
        except Exception:
            self._stale = True
            raise
        finally:
            self.zk.retry(self.read_lock.release)
        config = json.loads(data.decode("utf-8"))
        if self.politeness is None:
            self.politeness = int(config["politeness"])
        self.delay_ms = int(config.get("delay_ms", 0))
        if config.get("generation") != self.generation:
            self.generation = config.get("generation")
            self.events.log("config", generation=self.generation, delay_ms=self.delay_ms)
        if config.get("domains"):
            self.domains = set(config["domains"])

    def on_demo_domain(self, url):
        """True for http URLs of the demo's site (its domains, or loopback when unknown)."""
        if self.domains:
            return authority(url) in self.domains
        return urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


# --- HTTP and links ----------------------------------------------------------------------------


class LinkParser(HTMLParser):
    """Collects the href of every <a> element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def resolve(page_authority, href):
    """`href` as the absolute http URL every member derives from it, or None if crawlers do
    not follow it. Exactly the Rust members' rule (the URL string is the key, so both sides
    must spell a link alike): the fragment is dropped; `http://...` is kept as written; a
    root-relative `/path` gets the page's authority; anything else (relative paths, `//host`,
    other schemes, a bare fragment) is not followed."""
    href = href.split("#", 1)[0].strip()
    if href.startswith("http://"):
        return href
    if href.startswith("/") and not href.startswith("//"):
        return "http://" + page_authority + href
    return None


def extract_links(page_url, html, keep):
    """Every followed link of a page, in order, duplicates included, for which `keep(url)`."""
    parser = LinkParser()
    parser.feed(html)
    parser.close()
    resolved = (resolve(authority(page_url), href) for href in parser.hrefs)
    return [link for link in resolved if link is not None and keep(link)]


class Fetcher:
    """GETs pages with a real HTTP client (urllib), never through a proxy."""

    def __init__(self, member):
        self.member = member
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, url):
        """(status, body): the HTTP status (0 after two connection errors) and the body."""
        for attempt in (1, 2):
            try:
                return self._get_once(url)
            except (OSError, http.client.HTTPException, ValueError) as e:
                if attempt == 2:
                    print(f"kazoo-crawler: {url}: {e}", file=sys.stderr)
        return 0, b""

    def _get_once(self, url):
        request = urllib.request.Request(url, headers={"X-Crawler-Member": self.member})
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:  # 4xx and 5xx are results too
            with error:
                return error.code, error.read()


# --- the fenced commit --------------------------------------------------------------------------

COMMITTED = "committed"  # our record is in R/results
STALE = "stale"  # the server refused it: the claim's lock node is gone
RECORDED_BY_OTHER = "recorded-by-other"  # a record made under another claim is there
GAVE_UP = "gave-up"  # unresolved until COMMIT_DEADLINE


def first_failure(results):
    """(index, exception) of the operation that failed a multi, or None if it was applied."""
    for index, result in enumerate(results):
        if isinstance(result, Exception) and not isinstance(
            result, (RolledBackError, RuntimeInconsistency)
        ):
            return index, result
    return None


class PageCommit:
    """The one fenced transaction that records a page (crawl-spec.md, step 6)."""

    def __init__(self, zk, session, layout, claim_node, token, url, record, links):
        self.zk = zk
        self.session = session
        self.layout = layout
        self.claim_node = claim_node
        self.token = token
        self.key = url_key(url)
        self.record = json.dumps(record, separators=(",", ":")).encode("utf-8")
        self.links = [link for link in dict.fromkeys(links) if link != url]  # distinct, not itself

    def run(self):
        """Commits until the outcome is known: COMMITTED, STALE, RECORDED_BY_OTHER or GAVE_UP."""
        deadline = time.monotonic() + COMMIT_DEADLINE
        while time.monotonic() < deadline:
            try:
                results = self._transaction(self._unseen_links()).commit()
            except UNCERTAIN:
                # Reply lost (or the session ended): find out once connected again; if the
                # record is not ours, send the commit again and let the fence decide.
                if not self.session.wait_connected(max(0.0, deadline - time.monotonic())):
                    break
                outcome = self._read_back()
                if outcome is not None:
                    return outcome
                continue
            failure = first_failure(results)
            if failure is None:
                return COMMITTED
            index, _ = failure
            if index == 0:
                return STALE  # the check: our claim's lock node no longer exists
            if index == 1:
                return self._read_back() or RECORDED_BY_OTHER
            # A seen node appeared meanwhile: another page links here too. Look again.
        return GAVE_UP

    def _transaction(self, fresh_links):
        t = self.zk.transaction()
        t.check(self.claim_node, 0)
        t.create(self.layout.result(self.key), self.record)
        for link in fresh_links:
            t.create(self.layout.seen(url_key(link)))
            t.create(self.layout.frontier_entry, link.encode("utf-8"), sequence=True)
        return t

    def _unseen_links(self):
        """The links with no R/seen node yet (the exists calls go out together)."""
        pending = [
            (link, self.zk.exists_async(self.layout.seen(url_key(link)))) for link in self.links
        ]
        return [link for link, stat in pending if stat.get() is None]

    def _read_back(self):
        """COMMITTED if R/results/<key> holds our record, RECORDED_BY_OTHER if someone else's,
        None if there is none."""
        try:
            data, _ = self.zk.retry(self.zk.get, self.layout.result(self.key))
        except NoNodeError:
            return None
        token = json.loads(data.decode("utf-8")).get("token")
        return COMMITTED if token == self.token else RECORDED_BY_OTHER


# --- a worker ----------------------------------------------------------------------------------


class ClaimLost(Exception):
    """The claim on the item in hand (or its lease) is known lost: its session is gone."""


class Worker(threading.Thread):
    """One crawling thread: takes items until the crawl is finished."""

    def __init__(self, member, index):
        super().__init__(name=f"{member.id}-worker-{index}", daemon=True)
        self.m = member
        self.zk = member.zk
        self.layout = member.layout
        self.holder_ids = set()  # every LockingQueue id this thread used (for the hold sweep)
        self.queue = self._new_queue()
        self.counter = self.zk.Counter(self.layout.pages)
        self.semaphores = {}  # politeness path -> Semaphore (one lease at a time per thread)
        self.drops_seen = 0
        self.pages = 0

    def _new_queue(self):
        """A LockingQueue object holds one item and hands it out again until it is consumed
        or released; after an item was lost or abandoned, a fresh object starts clean."""
        queue = self.zk.LockingQueue(self.layout.frontier)
        self.holder_ids.add(queue.id)
        return queue

    def run(self):
        while not self.m.stop.is_set():
            try:
                url = self._take()
                if url is not None:
                    self._process(url)
                    self._crawl_delay()
            except Exception as e:  # noqa: BLE001 -- a worker never dies of one item
                print(f"kazoo-crawler: {self.name}: {failure(e)}; starting over", file=sys.stderr)
                self._abandon()
                self.m.session.wait_connected(1.0)

    # Step 1: take an item.
    def _take(self):
        if self.m.session.drops != self.drops_seen:
            self._sweep_lost_holds()
        self.m.config.refresh_if_due()
        item = self.queue.get(timeout=QUEUE_WAIT)
        if item is None:
            self._sweep_lost_holds()  # nothing to take: cheap insurance against an orphan
            return None
        return item.decode("utf-8")

    def _sweep_lost_holds(self):
        """Deletes queue holds of ours that we do not hold knowingly: a hold whose create
        reply was lost, or one of an item abandoned while disconnected, would block its item
        until the session ends. Run after every connection loss, and whenever a get found
        nothing (no get of ours is running then, so no hold of ours is being made)."""
        self.drops_seen = self.m.session.drops
        self.m.session.wait_connected()
        taken = self.layout.frontier + "/taken"
        known = self.queue.processing_element[0] if self.queue.processing_element else None
        for name in self.zk.retry(self.zk.get_children, taken):
            try:
                holder, _ = self.zk.retry(self.zk.get, taken + "/" + name)
                if holder in self.holder_ids and name != known:
                    self.zk.retry(self.zk.delete, taken + "/" + name)
            except NoNodeError:
                pass

    def _process(self, url):
        epoch = self.m.session.epoch
        key = url_key(url)
        claim = self.zk.WriteLock(self.layout.claim(key), self.m.id)
        if not self._acquire_claim(claim):
            self._release_item()
            return
        try:
            if self.m.session.epoch != epoch:
                raise ClaimLost()
            claim_node = claim.path + "/" + claim.node
            token = self._fencing_token(claim_node)
            if self.zk.retry(self.zk.exists, self.layout.result(key)):
                self._recovered(url)
                return
            self._fetch_and_commit(url, key, claim_node, token, epoch)
        except ClaimLost:
            self._abandon()
        finally:
            self._release_claim(claim)

    # Step 2: claim the URL.
    def _acquire_claim(self, claim):
        return acquire_or_clean_up(self.zk, claim, CLAIM_WAIT)

    def _fencing_token(self, claim_node):
        """The claim's fencing token: the creation zxid of its lock node."""
        stat = self.zk.retry(self.zk.exists, claim_node)
        if stat is None:
            raise ClaimLost()
        return stat.czxid

    # Step 3: a predecessor committed, then died before consuming.
    def _recovered(self, url):
        self._consume()
        self.m.events.log("recovered", url=url)

    # Steps 4 to 7.
    def _fetch_and_commit(self, url, key, claim_node, token, epoch):
        start, status, body, end = self._fetch_politely(url, epoch)
        links = self._links(url, status, body)
        record = {
            "url": url,
            "member": self.m.id,
            "token": token,
            "status": status,
            "links": len(links),
        }
        outcome = PageCommit(
            self.zk, self.m.session, self.layout, claim_node, token, url, record, links
        ).run()
        if outcome == COMMITTED:
            self.counter += 1
            self._consume()
            self.pages += 1
            self.m.config.page_done()
            self.m.events.log(
                "fetch",
                url=url,
                domain=authority(url),
                start=start,
                end=end,
                status=status,
                token=token,
            )
        elif outcome == STALE:
            self.m.events.log(
                "stale_rejected", url=url, token=token, domain=authority(url), start=start, end=end
            )
            self._abandon()
        elif outcome == RECORDED_BY_OTHER:
            self._recovered(url)
        else:
            print(f"kazoo-crawler: {url}: commit unresolved, abandoned", file=sys.stderr)
            self._abandon()

    def _fetch_politely(self, url, epoch):
        """GETs `url` holding a lease of its domain's Semaphore: (start, status, body, end)."""
        semaphore = self._semaphore(url)
        # No timeout: a Kazoo lock acquire that times out while disconnected can leave its
        # node behind (the clean-up fails), which would block the domain for everyone.
        semaphore.acquire()
        try:
            if not self._lease_stands(semaphore):
                self.m.events.log("lease_uncertain", url=url)
                raise ClaimLost()
            if self.m.session.epoch != epoch:
                raise ClaimLost()  # a lease of the new session; the claim was of the old one
            start = now_ms()
            status, body = self.m.fetcher.get(url)
            end = now_ms()
            if not self._lease_stands(semaphore) or self.m.session.epoch != epoch:
                # Stopped during the fetch past the session timeout: the request may have gone
                # out on a lease someone else holds by now (the politeness check looks for these).
                self.m.events.log("late_fetch", url=url, domain=authority(url))
        finally:
            self.zk.retry(semaphore.release)
        return start, status, body, end

    def _lease_stands(self, semaphore):
        """Whether the lease node still exists, asked of the server: Kazoo's leases have no
        deadline of their own, and a process stopped after acquiring (SIGSTOP, a long stall)
        would otherwise send its request on a lease that expired meanwhile, one request more
        than the politeness allows."""
        return self.zk.retry(self.zk.exists, semaphore.create_path) is not None

    def _semaphore(self, url):
        path = self.layout.politeness(url)
        if path not in self.semaphores:
            self.semaphores[path] = self.zk.Semaphore(
                path, self.m.id, max_leases=self.m.config.politeness
            )
        return self.semaphores[path]

    def _links(self, url, status, body):
        if status != 200:
            return []
        return extract_links(
            url, body.decode("utf-8", errors="replace"), self.m.config.on_demo_domain
        )

    def _crawl_delay(self):
        delay = self.m.config.delay_ms
        if delay > 0:
            self.m.stop.wait(delay / 1000.0)

    # Ending an item.
    def _consume(self):
        """Consumes the item in hand; False if its hold is gone (with its session)."""
        return self._end_item(self.queue.consume)

    def _release_item(self):
        """Puts the item in hand back; False if its hold is gone."""
        return self._end_item(self.queue.release)

    def _abandon(self):
        """Gives up the item in hand, whatever state it is in: put back if still held (after a
        lost session it is not: the server has put it back)."""
        try:
            self._end_item(self.queue.release)
        except KazooException:
            self.queue = self._new_queue()  # a leftover hold is found by the next sweep

    def _end_item(self, end):
        """Consumes or releases the item in hand. If the hold is not ours any more, the queue
        object would keep handing out the lost item, so it is replaced."""
        try:
            ended = self.zk.retry(end)
        except NoNodeError:  # holds_lock() read a hold that is gone
            ended = False
        if not ended:
            self.queue = self._new_queue()
        return ended

    def _release_claim(self, claim):
        try:
            self.zk.retry(claim.release)
        except KazooException:
            pass  # the lock node is ephemeral: it goes with the session at worst


# --- the member --------------------------------------------------------------------------------


class Member:
    """One crawler process: a Kazoo client, its party membership, its workers."""

    def __init__(self, args):
        self.id = args.member
        self.layout = Layout(args.root)
        self.events = EventLog(args.events, self.id)
        self.stop = threading.Event()
        self.orphaned = False
        self.zk = KazooClient(
            hosts=args.hosts,
            timeout=args.session_timeout_ms / 1000.0,
            connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
        )
        self.session = Session(self.zk, self.events)
        self.config = CrawlConfig(self.zk, self.layout, self.id, args.seeds, self.events)
        self.session.on_reconnect.append(self.config.mark_stale)
        self.fetcher = Fetcher(self.id)
        self.party = self.zk.Party(self.layout.party, self.id)
        self.workers_wanted = args.workers

    def run(self):
        """Crawls until R/finished exists; returns the process exit status."""
        try:
            self.zk.start(timeout=30)
        except KazooTimeoutError:
            print(f"kazoo-crawler: cannot reach ZooKeeper at {self.zk.hosts}", file=sys.stderr)
            return 2
        threading.Thread(target=self._watch_parent, name="parent-watch", daemon=True).start()
        try:
            self._prepare()
            if not self.config.read_first(self.stop):
                return ORPHANED if self.orphaned else 0
            workers = [Worker(self, i) for i in range(self.workers_wanted)]
            for worker in workers:
                worker.start()
            self._wait_finished()
            self._join(workers)
            if self.orphaned:
                return ORPHANED
            self.events.log("done", pages=sum(w.pages for w in workers))
            return 0
        finally:
            self._leave()

    def _watch_parent(self):
        """Stops the crawl if the orchestrator that started us is gone (it was interrupted or
        killed): a member does not crawl on as an orphan."""
        parent = os.getppid()
        while not self.stop.wait(1.0):
            if os.getppid() != parent:
                print(
                    f"kazoo-crawler: {self.id}: the orchestrator is gone, exiting", file=sys.stderr
                )
                self.orphaned = True
                self.stop.set()

    def _prepare(self):
        for path in self.layout.dirs:
            self.zk.retry(self.zk.ensure_path, path)
        self.party.join()
        self.events.log("joined")

    def _wait_finished(self):
        """Until R/finished exists (or `stop` is set): rejoins the party after a lost session;
        then sets `stop`."""
        wake = threading.Event()
        watch = watcher(wake)
        epoch = self.session.epoch
        while not self.stop.is_set() and not self._finished_exists(watch):
            if self.session.epoch != epoch and self.session.connected.is_set():
                epoch = self.session.epoch
                self.party.join()  # the party node went with the lost session
            wake.wait(1.0)
            wake.clear()
        self.stop.set()

    def _join(self, workers):
        """Waits for the workers to finish their current wait (the frontier is empty by now).
        One stuck in a call that cannot complete (ZooKeeper unreachable) is left behind: it is
        a daemon thread, and the crawl is over."""
        deadline = time.monotonic() + FINISH_WAIT
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                print(f"kazoo-crawler: {worker.name} still busy at exit", file=sys.stderr)

    def _finished_exists(self, watch):
        try:
            return self.zk.exists(self.layout.finished, watch=watch) is not None
        except UNCERTAIN:
            self.session.wait_connected(1.0)
            return False

    def _leave(self):
        self.session.closing = True
        try:
            if self.session.connected.is_set():
                self.party.leave()
        except KazooException:
            pass
        self.zk.stop()
        self.zk.close()
        self.events.close()


def parse_args(argv):
    parser = argparse.ArgumentParser(description="The Kazoo crawler of the zkcluster crawler demo.")
    parser.add_argument("--member", required=True, help="member id, e.g. kazoo-0")
    parser.add_argument("--hosts", required=True, help="ZooKeeper connection string")
    parser.add_argument(
        "--root", required=True, help="the run's root node, /zkcluster-demo/<run-id>"
    )
    parser.add_argument("--events", required=True, help="directory of the events files")
    parser.add_argument("--workers", type=int, default=2, help="worker threads (default 2)")
    parser.add_argument("--session-timeout-ms", type=int, default=6000, help="default 6000")
    parser.add_argument(
        "--seeds",
        default="",
        type=lambda s: [u for u in s.split(",") if u],
        help="seed URLs (optional): their domains are the demo's site",
    )
    parser.add_argument("--verbose", action="store_true", help="Kazoo's log from INFO up")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.session_timeout_ms < 1:
        parser.error("--workers and --session-timeout-ms must be positive")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Kazoo's warnings (connection drops, expired sessions) go to stderr, as the Rust members'
    # do: the orchestrator keeps each member's output in its log file.
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return Member(args).run()


if __name__ == "__main__":
    sys.exit(main())
