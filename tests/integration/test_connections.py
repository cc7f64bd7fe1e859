"""Connections: an idle keep-alive connection holds no worker thread (docs/behaviour.md, "Bounded connections").

server.threads bounds the requests read and answered at once. A client that
keeps its connection open between requests waits in the daemon's epoll set,
so many more idle connections than threads keep no other client waiting; each
is still served when it asks again, and closed after the 5 s keep-alive
timeout. With a thread per open connection, two threads and twenty idle
connections would keep a new client waiting for that timeout.
"""

import os
import socket
import time
import unittest

from http_wire import parse_answers, read_all
from sharelink_testlib import Daemon, Installation

THREADS = 2
IDLE_CONNECTIONS = 20


def request(token):
    return ("GET /v1/music/shared/%s HTTP/1.1\r\nHost: x\r\n\r\n" % token).encode()


def one_answer(sock, timeout=3.0):
    """Reads one complete answer from a kept-alive connection: (status, seconds it took)."""
    started = time.monotonic()
    sock.settimeout(timeout)
    data = b""
    while True:
        answers, _ = parse_answers(data)
        if answers:
            return answers[0].status, time.monotonic() - started
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("the daemon closed the connection before answering: %r" % data)
        data += chunk


class OneTrackDaemon(unittest.TestCase):
    """A daemon with `threads` worker threads and one shared track (self.token)."""

    threads = THREADS

    @classmethod
    def setUpClass(cls):
        cls.inst = Installation({"server": {"threads": cls.threads},
                                 "rate_limit": {"burst": 1000, "requests_per_minute": 6000}})
        track = cls.inst.add_track("Idle Hours")
        cls.token = cls.inst.share(track)[1]
        cls.d = Daemon(cls.inst)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.inst.cleanup()


class IdleConnectionsTest(OneTrackDaemon):
    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
        self.addCleanup(sock.close)
        return sock

    def test_idle_connections_beyond_the_thread_count_keep_no_client_waiting(self):
        idle = [self.connect() for _ in range(IDLE_CONNECTIONS)]
        for sock in idle:
            sock.sendall(request(self.token))
            self.assertEqual(one_answer(sock)[0], 200)
        # Twenty kept-alive connections now wait for their next request; two threads serve.
        fresh = self.connect()
        fresh.sendall(request(self.token))
        status, seconds = one_answer(fresh)
        self.assertEqual(status, 200)
        self.assertLess(seconds, 2.0, "a new client waited behind idle connections")
        # Each idle connection is still served when it asks again, newest first.
        for sock in reversed(idle):
            sock.sendall(request(self.token))
            status, seconds = one_answer(sock)
            self.assertEqual(status, 200)
            self.assertLess(seconds, 2.0)

    def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(self):
        sock = self.connect()
        sock.sendall(request(self.token))
        self.assertEqual(one_answer(sock)[0], 200)
        started = time.monotonic()
        data, closed = read_all(sock, 10)
        waited = time.monotonic() - started
        self.assertTrue(closed, "the connection was not closed")
        self.assertEqual(data, b"")
        self.assertGreater(waited, 4.0)
        self.assertLess(waited, 8.0)

    def test_a_connection_that_never_sends_is_closed_after_the_timeout(self):
        sock = self.connect()
        started = time.monotonic()
        data, closed = read_all(sock, 10)
        self.assertTrue(closed)
        self.assertEqual(data, b"")
        self.assertGreater(time.monotonic() - started, 4.0)


class StalledRequestsTest(OneTrackDaemon):
    """On SQLite two threads per core run at once and the others stand by
    (docs/operations.md, "Worker threads"). A thread whose client stalls in the
    middle of a request waits on the socket without its turn: more stalled
    clients than running threads keep no other client waiting, and each
    stalled one is answered once the rest of its request arrives."""

    threads = 16
    STALLED = 2 * len(os.sched_getaffinity(0)) + 2

    @classmethod
    def setUpClass(cls):
        if cls.STALLED >= cls.threads:
            raise unittest.SkipTest("this machine runs every one of the 16 threads at once")
        super().setUpClass()

    def test_clients_that_stall_mid_request_keep_no_other_client_waiting(self):
        whole = request(self.token)
        stalled = []
        for _ in range(self.STALLED):
            sock = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
            self.addCleanup(sock.close)
            sock.sendall(whole[:20])  # the head's first bytes: a thread now waits for the rest
            stalled.append(sock)
        time.sleep(0.3)
        fresh = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
        self.addCleanup(fresh.close)
        fresh.sendall(whole)
        status, seconds = one_answer(fresh)
        self.assertEqual(status, 200)
        self.assertLess(seconds, 2.0, "a client waited behind stalled requests (the read timeout is 5 s)")
        for sock in stalled:
            sock.sendall(whole[20:])
            status, seconds = one_answer(sock)
            self.assertEqual(status, 200)
            self.assertLess(seconds, 2.0)


if __name__ == "__main__":
    unittest.main()
