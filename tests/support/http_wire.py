"""Raw HTTP/1.1 on a socket: exact bytes out, every answer parsed until the server closes.

For tests of request framing, where http.client would normalise (or refuse to
send) what the test needs on the wire.
"""

import socket
import time


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # [(name, value)] in order, names as sent
        self.body = body

    def header(self, name):
        values = self.all(name)
        return values[0] if values else None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Exchange:
    """What came back on one connection: the answers in order, and whether the server closed it."""

    def __init__(self, answers, closed, rest):
        self.answers = answers
        self.closed = closed  # the server closed the connection (EOF or reset), rather than a read timeout
        self.rest = rest      # bytes after the last complete answer


def parse_answers(data, head_answers=()):
    """Complete answers in data, and the bytes left over. head_answers: indexes of answers to HEAD (no body)."""
    answers = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return answers, data
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        rest = data[end + 4:]
        answer = Answer(status, headers, b"")
        no_body = len(answers) in head_answers or status in (204, 304) or 100 <= status < 200
        if not no_body:
            length = answer.header("Content-Length")
            if length is None:
                return answers, data  # not expected from this server
            if len(rest) < int(length):
                return answers, data
            answer.body, rest = rest[:int(length)], rest[int(length):]
        answers.append(answer)
        data = rest


def read_all(sock, timeout):
    """(bytes, closed): read until the peer closes or nothing comes for timeout seconds."""
    sock.settimeout(timeout)
    chunks = []
    closed = False
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            chunks.append(chunk)
    except socket.timeout:
        pass
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    return b"".join(chunks), closed


def exchange(port, data, head_answers=(), timeout=3.0, host="127.0.0.1", source=None):
    """Sends data on a fresh connection and reads until the server closes (or timeout of silence)."""
    sock = socket.create_connection((host, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    try:
        try:
            sock.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server may stop reading early; its answer can still be there
        received, closed = read_all(sock, timeout)
    finally:
        sock.close()
    answers, rest = parse_answers(received, head_answers)
    return Exchange(answers, closed, rest)


def wait_until(predicate, timeout=20, interval=0.1):
    """predicate()'s first truthy result within timeout seconds, else its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
