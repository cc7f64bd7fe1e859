"""The nginx upstream recipe for several daemons (packaging/nginx/shared-linkd-upstream.conf), in a real nginx.

The recipe is used as shipped except for its example server lines, which
point at stand-in daemons here: small HTTP servers on loopback ports that
answer with their name (or with the daemon's 503 when told to), so that the
test sees which daemon served each request. Clients talk to nginx from
different loopback addresses (127.0.0.2, 127.0.0.3, ...), which nginx sees as
different clients. A second nginx server block takes the client address from
a header (realip), to check the client key for IPv6 addresses that a loopback
test cannot send from.
"""

import http.client
import http.server
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from nginx_site import NGINX, free_port, start_nginx, temp_path_lines
from sharelink_testlib import stop_process

PACKAGING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "nginx")
UPSTREAM = os.path.join(PACKAGING, "shared-linkd-upstream.conf")
READYZ_CHECK = os.path.join(PACKAGING, "shared-linkd-readyz-check")
CURL = shutil.which("curl")
UNAVAILABLE = b'{"success": false, "error": {"code": "SERVICE_UNAVAILABLE", "message": "x", "request_id": "req_0"}}'


def sources(count):
    return ["127.0.0.%d" % (2 + i) for i in range(count)]


class StandInDaemon:
    """Answers GET with its name (200), or with a 503 while unavailable; counts the requests it got."""

    def __init__(self, name):
        self.name = name
        self.requests = 0
        self.unavailable = False
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                owner.requests += 1
                status, body = (503, UNAVAILABLE) if owner.unavailable else (200, owner.name.encode())
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                # No keep-alive: once stopped, the daemon must be gone for nginx at once.
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def recipe_for(daemons):
    """The shipped recipe with the test's daemons in place of the example server lines."""
    with open(UPSTREAM) as f:
        recipe = f.read()
    lines = re.findall(r"(?m)^  server 10\.0\.0\.1[12]:8787 (max_fails=\d+ fail_timeout=\d+s);\n", recipe)
    if len(lines) != 2:
        raise AssertionError("the recipe's example server lines changed: %r" % lines)
    servers = "".join("  server 127.0.0.1:%d %s;\n" % (d.port, lines[0]) for d in daemons)
    recipe = re.sub(r"(?m)^  server 10\.0\.0\.1[12]:8787 .*\n", "", recipe)
    recipe = recipe.replace("  hash $shared_linkd_client consistent;\n",
                            "  hash $shared_linkd_client consistent;\n" + servers, 1)
    return recipe


class Nginx:
    """A real nginx in the foreground: the recipe at http level, a proxying server and a client-key server."""

    def __init__(self, recipe):
        self.dir = tempfile.mkdtemp(prefix="sharelink-upstream-")
        self.port = free_port()
        self.key_port = free_port()
        with open(os.path.join(self.dir, "upstream.conf"), "w") as f:
            f.write(recipe)
        temp_paths = temp_path_lines(self.dir)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write("""daemon off;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events { worker_connections 256; }
http {
  access_log off;
%(temp)s
  include %(dir)s/upstream.conf;
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      proxy_pass http://shared_linkd;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
      proxy_read_timeout 5s;
    }
  }
  server {
    listen 127.0.0.1:%(key_port)d;
    set_real_ip_from 127.0.0.0/8;
    real_ip_header X-Client-Address;
    location = /client-key { return 200 "$shared_linkd_client"; }
  }
}
""" % {"dir": self.dir, "temp": temp_paths, "port": self.port, "key_port": self.key_port})
        self.proc = start_nginx(self.dir, self.conf, self.key_port, self.error_log)

    def reload_command(self):
        return "%s -p %s -c %s -e %s/error.log -s reload" % (NGINX, self.dir, self.conf, self.dir)

    @property
    def upstream_file(self):
        return os.path.join(self.dir, "upstream.conf")

    def workers(self):
        """Process ids of the master's children (its workers)."""
        children = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                children.add(int(entry))
        return children

    def wait_for_new_workers(self, old, timeout=20):
        """A reload is applied once every old worker is gone and new ones run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.workers()
            if current and not current & old:
                return
            time.sleep(0.05)
        raise AssertionError("nginx did not apply the reload:\n" + self.error_log())

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def get(self, path="/v1/music/shared/x", source="127.0.0.2", port=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=20, source_address=(source, 0))
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def client_key(self, address):
        status, body = self.get("/client-key", port=self.key_port, headers={"X-Client-Address": address})
        if status != 200:
            raise AssertionError("client-key: %d %r" % (status, body))
        return body.decode()

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(NGINX, "nginx is not installed (Debian package nginx-light): upstream recipe tests skipped")
class UpstreamRecipeTest(unittest.TestCase):
    def setUp(self):
        self.daemons = [StandInDaemon(name) for name in ("daemon-a", "daemon-b", "daemon-c")]
        for daemon in self.daemons:
            self.addCleanup(daemon.stop)
        self.nginx = Nginx(recipe_for(self.daemons))
        self.addCleanup(self.nginx.stop)

    def served_by(self, source):
        status, body = self.nginx.get(source=source)
        self.assertEqual(status, 200, body)
        return body.decode()

    def placement(self, clients):
        return {source: self.served_by(source) for source in clients}

    def test_nginx_accepts_the_recipe_as_shipped(self):
        directory = tempfile.mkdtemp(prefix="sharelink-upstream-t-")
        self.addCleanup(shutil.rmtree, directory, True)
        conf = os.path.join(directory, "nginx.conf")
        with open(conf, "w") as f:
            f.write("pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n  include %s;\n"
                    "  server { listen 127.0.0.1:%d; location / { proxy_pass http://shared_linkd; } }\n}\n"
                    % (directory, directory, os.path.abspath(UPSTREAM), free_port()))
        proc = subprocess.run([NGINX, "-t", "-p", directory, "-c", conf, "-e", os.path.join(directory, "error.log")],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_each_client_sticks_to_one_daemon(self):
        clients = sources(24)
        first = self.placement(clients)
        for _ in range(3):
            self.assertEqual(self.placement(clients), first)
        # The hash spreads clients: all 24 on one of three daemons would be a broken hash.
        self.assertGreaterEqual(len(set(first.values())), 2, first)

    def test_a_stopped_daemons_clients_move_and_no_other_client_does(self):
        clients = sources(24)
        before = self.placement(clients)
        gone = next(d for d in self.daemons if d.name in before.values())
        gone.stop()
        after = self.placement(clients)
        for source in clients:
            if before[source] == gone.name:
                self.assertNotEqual(after[source], gone.name)
            else:
                self.assertEqual(after[source], before[source], "consistent hashing moved %s" % source)

    def test_a_503_is_retried_on_another_daemon_which_then_takes_over(self):
        clients = sources(24)
        before = self.placement(clients)
        sick = next(d for d in self.daemons if d.name in before.values())
        victim = next(source for source, name in before.items() if name == sick.name)
        sick.unavailable = True
        sick.requests = 0
        for _ in range(10):
            self.assertNotEqual(self.served_by(victim), sick.name)
        # Passive health check: after max_fails (3) failures nginx leaves it out for a while.
        self.assertLess(sick.requests, 10)
        self.assertGreaterEqual(sick.requests, 1)

    def test_when_every_daemon_answers_503_the_client_gets_it_after_one_retry(self):
        for daemon in self.daemons:
            daemon.unavailable = True
            daemon.requests = 0
        status, body = self.nginx.get(source="127.0.0.2")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["error"]["code"], "SERVICE_UNAVAILABLE")
        self.assertEqual(sum(d.requests for d in self.daemons), 2)  # proxy_next_upstream_tries 2

    def test_the_client_key_is_an_ipv4_address_or_an_ipv6_slash_64(self):
        for address in ("203.0.113.7", "10.0.0.1", "::ffff:203.0.113.7"):
            self.assertEqual(self.nginx.client_key(address), address)
        # Networks whose /64 has zero groups in every place "::" can stand.
        networks = ["2001:db8:a:b", "2001:db8:0:0", "2001:db8:0:1", "2001:0:0:1", "2001:0:0:0", "0:0:1:2",
                    "0:0:0:5", "0:0:0:0", "1:0:0:4", "2001:db8:1:0", "fe80:0:0:0"]
        interfaces = ["0:0:0:1", "0:0:0:0", "1:0:0:1", "1:2:3:4", "ffff:ffff:ffff:ffff", "0:1:0:0", "1:0:0:0",
                      "0:0:1:0", "abcd:0:0:0"]
        keys = {}
        for network in networks:
            expected = ":".join(format(int(g, 16), "x") for g in network.split(":"))
            for interface in interfaces:
                address = ipaddress.IPv6Address(network + ":" + interface)
                for text in (str(address), address.exploded):
                    key = self.nginx.client_key(text)
                    self.assertEqual(key, expected, "%s (%s)" % (text, address))
                keys.setdefault(key, set()).add(network)
        self.assertEqual(len(keys), len(networks))  # one key per /64, none shared


@unittest.skipUnless(NGINX and CURL, "nginx or curl is not installed: readyz check tests skipped")
class ReadyzCheckTest(unittest.TestCase):
    """packaging/nginx/shared-linkd-readyz-check: marks daemons whose /readyz fails "down" and reloads nginx."""

    def setUp(self):
        self.daemons = [StandInDaemon(name) for name in ("daemon-a", "daemon-b", "daemon-c")]
        for daemon in self.daemons:
            self.addCleanup(daemon.stop)
        self.nginx = Nginx(recipe_for(self.daemons))
        self.addCleanup(self.nginx.stop)

    def check(self):
        proc = subprocess.run(["sh", READYZ_CHECK, self.nginx.upstream_file], capture_output=True, text=True,
                              timeout=60, env=dict(os.environ, NGINX_RELOAD=self.nginx.reload_command()))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc

    def down_lines(self):
        with open(self.nginx.upstream_file) as f:
            return [line for line in f if re.match(r"^\s*server ", line) and " down;" in line]

    def served_by(self, source):
        status, body = self.nginx.get(source=source)
        self.assertEqual(status, 200, body)
        return body.decode()

    def check_and_wait_for_reload(self):
        # nginx applies a reload asynchronously: new workers take over, old ones finish.
        workers = self.nginx.workers()
        out = self.check().stdout
        self.nginx.wait_for_new_workers(workers)
        return out

    def test_a_daemon_that_is_not_ready_is_left_out_until_it_is_again(self):
        clients = sources(24)
        placement = {source: self.served_by(source) for source in clients}
        sick = next(d for d in self.daemons if d.name in placement.values())
        victim = next(source for source, name in placement.items() if name == sick.name)

        self.assertEqual(self.check().stdout, "")  # all ready: nothing to change
        self.assertEqual(self.down_lines(), [])

        sick.unavailable = True
        out = self.check_and_wait_for_reload()
        self.assertIn("not ready: 127.0.0.1:%d; reloading nginx" % sick.port, out)
        self.assertEqual([l.strip() for l in self.down_lines()],
                         ["server 127.0.0.1:%d max_fails=3 fail_timeout=5s down;" % sick.port])
        sick.requests = 0
        for _ in range(10):
            self.assertNotEqual(self.served_by(victim), sick.name)
        self.assertEqual(sick.requests, 0)  # not even tried: it is down
        self.assertEqual(self.check().stdout, "")  # no change, no reload

        sick.unavailable = False
        self.assertIn("not ready: none; reloading nginx", self.check_and_wait_for_reload())
        self.assertEqual(self.down_lines(), [])
        self.assertEqual(self.served_by(victim), sick.name)

    def test_when_no_daemon_is_ready_nothing_changes(self):
        with open(self.nginx.upstream_file) as f:
            before = f.read()
        for daemon in self.daemons:
            daemon.unavailable = True
        proc = self.check()
        self.assertIn("no daemon is ready", proc.stderr)
        with open(self.nginx.upstream_file) as f:
            self.assertEqual(f.read(), before)


if __name__ == "__main__":
    unittest.main()
