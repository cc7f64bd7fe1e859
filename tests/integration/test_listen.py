"""The listening socket: exclusive to one daemon, quick to reuse on restart, and a warning beyond loopback.

cpp-httplib binds with SO_REUSEPORT, which let a second daemon bind the same
address and take a share of the traffic; the daemon now binds its own socket
with SO_REUSEADDR only.
"""

import re
import socket
import subprocess
import unittest

from sharelink_testlib import SHARED_LINKD, Daemon, Installation

WARNING = re.compile(r"level=warn msg=\"listening on a non-loopback address[^\n]*packaging/nginx")


class ListenTest(unittest.TestCase):
    def installation(self, listen="127.0.0.1:0"):
        inst = Installation({"server": {"listen": listen}})
        self.addCleanup(inst.cleanup)
        return inst

    def daemon(self, inst):
        daemon = Daemon(inst)
        self.addCleanup(daemon.stop)
        return daemon

    def test_a_second_daemon_on_the_same_address_exits_1_with_address_in_use(self):
        first = self.daemon(self.installation())
        address = "127.0.0.1:%d" % first.port
        second = self.installation(address)
        proc = subprocess.run([SHARED_LINKD, "--config", second.config_path], capture_output=True, text=True,
                              timeout=20)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertNotIn("msg=listening", proc.stderr)
        self.assertRegex(proc.stderr, r'level=error msg="cannot listen" addr=%s error="cannot listen on %s: '
                                      r'address in use' % (re.escape(address), re.escape(address)))
        self.assertIn("shared-linkd: error: cannot listen on %s: address in use" % address, proc.stderr)
        # The first daemon still has the address to itself.
        for _ in range(20):
            self.assertEqual(first.get("/healthz").status, 200)
        self.assertEqual(first.proc.poll(), None)

    def test_a_restart_binds_again_at_once_despite_time_wait(self):
        inst = self.installation()
        first = Daemon(inst)
        port = first.port
        # The daemon closes these connections first, which leaves them in TIME_WAIT on its side.
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
        self.assertEqual(first.stop(), 0)
        inst.config["server"]["listen"] = "127.0.0.1:%d" % port
        inst.write_config()
        again = self.daemon(inst)
        self.assertEqual(again.port, port)
        self.assertEqual(again.get("/healthz").status, 200)

    def test_listening_beyond_loopback_warns_once_naming_the_risk_and_the_nginx_site(self):
        # The wildcard address; nothing but the local test ever talks to it.
        exposed = self.daemon(self.installation("0.0.0.0:0"))
        self.assertEqual(exposed.get("/healthz").status, 200)
        log = exposed.log()
        self.assertEqual(len(WARNING.findall(log)), 1, log)
        self.assertRegex(log, r"risk=\"a worker thread per request being read")
        local = self.daemon(self.installation("127.0.0.1:0"))
        self.assertEqual(local.get("/healthz").status, 200)
        self.assertNotIn("non-loopback", local.log())


if __name__ == "__main__":
    unittest.main()
