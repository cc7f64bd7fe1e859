"""A real nginx serving the shipped site (packaging/nginx/shared-linkd-site.conf) in front of a test daemon.

The site is used as shipped except for what a loopback test cannot have: its
listeners move to free loopback ports and the upstream port, media_root and
log directory point at the test's. Plain mode drops the ssl_* lines (the
HTTPS listener becomes plain HTTP); TLS mode keeps them and points the
certificate lines at a throwaway self-signed certificate (openssl req -x509).
"""

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from sharelink_testlib import stop_process

SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "nginx",
                    "shared-linkd-site.conf")
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)),
                                      None)
OPENSSL = shutil.which("openssl")
HOST = "music.example.org"
CLIENT = "127.0.0.2"  # the default client address: neither nginx's (127.0.0.1) nor the daemon's


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def temp_path_lines(directory):
    """The *_temp_path lines of an http block, each folder inside directory (nginx's defaults need root's /var)."""
    return "\n".join("  %s_temp_path %s/%s;" % (kind, directory, kind)
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def directory_logs(directory):
    """Every *.log file of directory, each under a "--- name" line (for failure messages)."""
    out = ""
    for name in sorted(os.listdir(directory)):
        if name.endswith(".log"):
            with open(os.path.join(directory, name), errors="replace") as f:
                out += "--- %s\n%s" % (name, f.read())
    return out


def start_nginx(directory, conf, port, logs, error_log="error.log"):
    """nginx in the foreground with prefix directory and conf (errors before conf is read go to
    directory/error_log), returned once port accepts connections. Fails with logs() (and what nginx
    printed) if it exits or does not listen within 10 seconds."""
    proc = subprocess.Popen([NGINX, "-p", directory, "-c", conf, "-e", os.path.join(directory, error_log)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode()
            proc.stdout.close()
            raise AssertionError("nginx exited:\n" + output + logs())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    stop_process(proc)
    raise AssertionError("nginx did not start listening:\n" + logs())


def site_for_test(site, daemon_port, https_port, http_port, media_root, log_dir, tls=None):
    """The shipped site with loopback listeners; tls = (certificate, key) keeps HTTPS. Fails if the site's shape changed."""
    if tls:
        listen_https = [(r"(?m)^(\s*)listen 443 ssl http2;$", r"\1listen 127.0.0.1:%d ssl http2;" % https_port, 1),
                        (r"(?m)^(\s*)ssl_certificate [^;]+;", r"\1ssl_certificate %s;" % tls[0], 1),
                        (r"(?m)^(\s*)ssl_certificate_key [^;]+;", r"\1ssl_certificate_key %s;" % tls[1], 1)]
    else:
        listen_https = [(r"(?m)^(\s*)listen 443 ssl http2;$", r"\1listen 127.0.0.1:%d;" % https_port, 1),
                        (r"(?m)^\s*ssl_[a-z_]+ .*;\n", "", 7)]
    replacements = listen_https + [
        (r"(?m)^\s*listen \[::\]:443 ssl http2;\n", "", 1),
        (r"(?m)^(\s*)listen 80;$", r"\1listen 127.0.0.1:%d;" % http_port, 1),
        (r"(?m)^\s*listen \[::\]:80;\n", "", 1),
        (r"server 127\.0\.0\.1:8787;", "server 127.0.0.1:%d;" % daemon_port, 1),
        (r"alias /var/lib/shared-linkd/media/;", "alias %s/;" % media_root.rstrip("/"), 1),
        (r"/var/log/nginx/", log_dir + "/", 4),
    ]
    for pattern, replacement, expected in replacements:
        site, count = re.subn(pattern, replacement, site)
        if count != expected:
            raise AssertionError("site config: %r matched %d times, expected %d" % (pattern, count, expected))
    return site


def throwaway_certificate(directory):
    """A self-signed EC certificate for HOST, valid one day: (certificate path, key path)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=" + HOST, "-addext", "subjectAltName=DNS:" + HOST,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class Nginx:
    """A real nginx in the foreground with a temp prefix, serving the shipped site on loopback."""

    def __init__(self, daemon_port, media_root, tls=False, worker_connections=256):
        self.dir = tempfile.mkdtemp(prefix="sharelink-proxy-")
        self.port = free_port()
        self.redirect_port = free_port()
        self.tls = tls
        self.certificate = None
        pair = None
        if tls:
            pair = throwaway_certificate(self.dir)
            self.certificate = pair[0]
        with open(SITE) as f:
            site = site_for_test(f.read(), daemon_port, self.port, self.redirect_port, media_root, self.dir, pair)
        with open(os.path.join(self.dir, "site.conf"), "w") as f:
            f.write(site)
        temp_paths = temp_path_lines(self.dir)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's media files
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("""%sdaemon off;
worker_processes 1;
worker_rlimit_nofile %d;
pid %s/nginx.pid;
error_log %s/main-error.log;
events { worker_connections %d; }
http {
  default_type application/octet-stream;
%s
  include %s/site.conf;
}
""" % (user, 2 * worker_connections + 64, self.dir, self.dir, worker_connections, temp_paths, self.dir))
        self.proc = start_nginx(self.dir, os.path.join(self.dir, "nginx.conf"), self.port, self.logs,
                                "main-error.log")

    def ssl_context(self):
        """A client context that trusts exactly the throwaway certificate."""
        context = ssl.create_default_context(cafile=self.certificate)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def connect(self, source, timeout=10):
        """A connected socket from the loopback address source (TLS-wrapped in TLS mode)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout, source_address=(source, 0))
        if self.tls:
            sock = self.ssl_context().wrap_socket(sock, server_hostname=HOST)
        return sock

    def log(self, name):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def logs(self):
        return directory_logs(self.dir)

    def get(self, path, source=CLIENT, headers=None, method="GET", timeout=10):
        """One request from the loopback address source; (status, lower-case headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.sock = self.connect(source, timeout)  # http.client uses a socket it is given as it is
        try:
            conn.request(method, path, headers=dict({"Host": HOST}, **(headers or {})))
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self):
        stop_process(self.proc)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
