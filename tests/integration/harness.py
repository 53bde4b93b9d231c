"""Shared helpers for Gatehouse's integration and end-to-end tests (Python 3 stdlib only,
loopback only).

Processes started here (gatehouse, the test backend, nginx, HAProxy, any other program through
Process) are registered with the test's cleanup so that they are always stopped, even when an
assertion fails half-way.
"""

import hashlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
APIM_404 = b'{ "statusCode": 404, "message": "Resource not found" }'
APIM_ERROR_RE = re.compile(rb'^\{ "statusCode": (\d{3}), "message": "[^"\\]*(?:\\.[^"\\]*)*" \}$')


def gatehouse_bin():
    """The binary under test: $GATEHOUSE_BIN (set by CTest) or build/gatehouse."""
    path = os.environ.get("GATEHOUSE_BIN") or os.path.join(REPO, "build", "gatehouse")
    if not os.access(path, os.X_OK):
        raise AssertionError("gatehouse binary not found at %s (set GATEHOUSE_BIN)" % path)
    return path


def require_tool(name):
    """Fails (never skips) when a tool that scripts/bootstrap installs is missing."""
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    found = shutil.which(name)
    if not found:
        raise AssertionError("%s is required by this test; run scripts/bootstrap" % name)
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None, what="process", host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                "%s exited with %s before listening on %d" % (what, proc.returncode, port)
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("%s: port %d not accepting after %.0f s" % (what, port, timeout))


def port_refuses(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def poll(predicate, what, timeout=20.0, interval=0.1):
    """Calls predicate() until it returns something true, and returns that; fails after
    `timeout` seconds naming `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def temp_dir(owner, prefix):
    """A new temp dir, removed at the end of the test or class `owner`."""
    path = tempfile.mkdtemp(prefix=prefix)
    on_cleanup(owner, shutil.rmtree, path, True)
    return path


def tls_context(ca_file, cert_file=None, key_file=None):
    """A client TLS context that trusts `ca_file`, presenting `cert_file` when given."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


def run_command(argv, env=None, cwd=None, input=None, timeout=60, check=True, text=True):
    """Runs a command to completion with its output captured (subprocess.CompletedProcess);
    with `check`, a non-zero exit fails the test with the end of the command's stderr."""
    r = subprocess.run(list(argv), env=env, cwd=cwd, input=input, capture_output=True, text=text,
                       timeout=timeout)
    if check and r.returncode != 0:
        err = r.stderr if text else r.stderr.decode("utf-8", "replace")
        # Only the first words: later arguments may be secrets.
        what = " ".join([os.path.basename(argv[0])] + list(argv[1:4]))
        raise AssertionError("%s failed (exit %d): %s" % (what, r.returncode, err[-2000:]))
    return r


def json_lines(path):
    """The file's lines that are JSON objects (others, like a line still being written, are
    passed over); [] while the file does not exist."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", "replace")
    out = []
    for line in raw.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


# --- YAML ---------------------------------------------------------------------------------------


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for Gatehouse configs)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(to_yaml(v, indent + 2))
            elif isinstance(v, list):
                lines.append("%s%s: []" % (pad, k))
            else:
                lines.append("%s%s: %s" % (pad, k, _scalar(v)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 2).splitlines()
                body[0] = pad + "- " + body[0][indent + 2:]
                lines.extend(body)
            else:
                lines.append("%s- %s" % (pad, _scalar(item)))
    else:
        lines.append(pad + _scalar(value))
    return "\n".join(lines)


# --- HTTP over raw sockets -----------------------------------------------------------------------


class Response:
    def __init__(self, status, reason, headers, body, interim):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] in order
        self.body = body
        self.interim = interim  # 1xx statuses seen before the final response

    def header(self, name, default=None):
        vals = self.all(name)
        return vals[0] if vals else default

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Response(%d, %r, %r)" % (self.status, self.headers, self.body[:200])


class Conn:
    """One client connection (plain or TLS) with exact control over the bytes sent."""

    def __init__(self, port, tls=None, server_hostname=None, timeout=10.0, host="127.0.0.1"):
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = tls.wrap_socket(raw, server_hostname=server_hostname) if tls else raw
        self.buf = bytearray()
        self.port = port

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed by peer")
        self.buf += data

    def read_line(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_until_close(self):
        try:
            while True:
                self._fill()
        except (EOFError, ConnectionResetError):
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def read_head(self):
        line = self.read_line().decode("latin-1").rstrip("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)$", line)
        if not m:
            raise AssertionError("bad status line %r" % line)
        headers = []
        while True:
            h = self.read_line()
            if h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((k, v.strip()))
        return int(m.group(1)), m.group(2), headers

    def read_response(self, method="GET", sink=None):
        """Reads one response; 1xx are collected in .interim. sink(bytes) streams the body."""
        interim = []
        while True:
            status, reason, headers = self.read_head()
            if 100 <= status < 200 and status != 101:
                interim.append(status)
                continue
            break
        r = Response(status, reason, headers, b"", interim)
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        chunks = []
        out = sink or chunks.append
        if method == "HEAD" or status in (204, 304):
            pass
        elif te is not None and "chunked" in te.lower():
            while True:
                size = int(self.read_line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.read_line() not in (b"\r\n", b"\n"):
                        pass
                    break
                left = size
                while left:
                    if not self.buf:
                        self._fill()
                    n = min(left, len(self.buf))
                    out(bytes(self.buf[:n]))
                    del self.buf[:n]
                    left -= n
                self.read_line()
        elif cl is not None:
            left = int(cl)
            while left:
                if not self.buf:
                    self._fill()
                n = min(left, len(self.buf))
                out(bytes(self.buf[:n]))
                del self.buf[:n]
                left -= n
        else:
            out(self.read_until_close())
        r.body = b"".join(chunks)
        return r

    def request(self, method, target, headers=None, body=b"", host="localhost"):
        """Sends a well-formed request and returns its response."""
        hdrs = list(headers or [])
        names = {k.lower() for k, _ in hdrs}
        if "host" not in names:
            hdrs.insert(0, ("Host", host))
        if body and "content-length" not in names and "transfer-encoding" not in names:
            hdrs.append(("Content-Length", str(len(body))))
        head = "%s %s HTTP/1.1\r\n" % (method, target)
        head += "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
        self.send(head.encode("latin-1") + body)
        return self.read_response(method)

    def is_closed(self, timeout=3.0):
        """True when the peer closes (EOF or reset) within `timeout` with nothing more to read."""
        self.sock.settimeout(timeout)
        try:
            extra = self.sock.recv(65536)
            return extra == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, ssl.SSLError):
            return False
        except OSError:
            return True


def request(
    port, method, target, headers=None, body=b"", tls=None, server_hostname=None, host="localhost"
):
    with Conn(port, tls=tls, server_hostname=server_hostname) as c:
        return c.request(method, target, headers, body, host=host)


# --- processes -----------------------------------------------------------------------------------


def on_cleanup(owner, fn, *args):
    """Registers fn with a TestCase instance (addCleanup) or class (addClassCleanup)."""
    if isinstance(owner, type):
        owner.addClassCleanup(fn, *args)
    else:
        owner.addCleanup(fn, *args)


STDOUT = subprocess.STDOUT  # Process(stderr=STDOUT): stderr into stdout's file
LINES = "lines"  # Process(stdout=LINES): stdout read line by line into Process.lines


class Process:
    """A long-running program started for a test, stopped at the end of the test or class
    `owner` (or earlier by stop()): with SIGTERM and up to `stop_timeout` seconds to exit when
    that is given, else with SIGKILL.

    `stdout` and `stderr` are file paths (None: discarded). stderr=STDOUT shares stdout's file;
    stdout=LINES puts each line printed into the queue `lines` as (time.monotonic(), text).
    `env` is the whole environment (None: this process's); `append` keeps earlier output."""

    def __init__(self, owner, argv, stdout=None, stderr=None, env=None, cwd=None, name=None,
                 stop_timeout=None, append=False):
        self.name = name or os.path.basename(argv[0])
        self.stop_timeout = stop_timeout
        self.stdout_path = None if stdout in (None, LINES) else stdout
        self.stderr_path = self.stdout_path if stderr == STDOUT else stderr
        mode = "ab" if append else "wb"
        self.stdout = open(self.stdout_path, mode) if self.stdout_path else None
        self.stderr = open(stderr, mode) if stderr not in (None, STDOUT) else None
        self.lines = queue.Queue() if stdout == LINES else None
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE if self.lines else self.stdout or subprocess.DEVNULL,
            stderr=STDOUT if stderr == STDOUT else self.stderr or subprocess.DEVNULL,
        )
        on_cleanup(owner, self.stop)
        if self.lines:
            threading.Thread(target=self._read_lines, daemon=True).start()

    def _read_lines(self):
        for raw in self.proc.stdout:
            self.lines.put((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\n")))

    def wait_ports(self, ports, timeout=10.0):
        """Waits until each of `ports` (a port on 127.0.0.1, or a (host, port) pair) accepts
        connections; fails with the end of the program's stderr when it does not."""
        try:
            for p in ports:
                host, port = p if isinstance(p, tuple) else ("127.0.0.1", p)
                wait_port(port, timeout, self.proc, self.name, host)
        except AssertionError as e:
            raise AssertionError("%s\n%s stderr:\n%s" % (e, self.name, self.stderr_text()[-3000:]))

    @staticmethod
    def _text(path):
        if not path:
            return ""
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout_text(self):
        return self._text(self.stdout_path)

    def stderr_text(self):
        return self._text(self.stderr_path)

    def stop(self):
        if self.proc.poll() is None:
            if self.stop_timeout is None:
                self.proc.kill()
            else:
                self.proc.terminate()
                try:
                    self.proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdout, self.stdout, self.stderr):
            if f and not f.closed:
                f.close()


class TestBackend:
    """tests/integration/backend.py as a subprocess."""

    def __init__(self, testcase):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "backend.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        on_cleanup(testcase, self.stop)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("test backend failed to start")
        self.port = int(line)
        self.url = "http://127.0.0.1:%d" % self.port

    def log(self, clear=False):
        return request(self.port, "GET", "/log?clear=1" if clear else "/log").json()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class Gatehouse:
    """A `gatehouse serve --config FILE` process with its own temp dir and logs."""

    def __init__(self, testcase, config, workdir=None, access_log=True, start=True, env=None):
        self._prepare(testcase, workdir, env)
        self.config = dict(config)
        if access_log and "access_log" not in self.config:
            self.config["access_log"] = self.access_log_path
        self.config_path = os.path.join(self.dir, "gatehouse.yaml")
        self.write_config(self.config)
        if start:
            self.start()

    def _prepare(self, testcase, workdir, env):
        self.tc = testcase
        self.dir = workdir or temp_dir(testcase, "gh-it-")
        self.access_log_path = os.path.join(self.dir, "access.log")
        self.proc = None
        self.env = env

    def write_config(self, config):
        text = config if isinstance(config, str) else to_yaml(config) + "\n"
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def addresses(self):
        """(host, port) of every listener, then the admin listener."""
        addrs = [lst["address"] for lst in self.config.get("listeners", [])]
        if "admin" in self.config:
            addrs.append(self.config["admin"]["address"])
        out = []
        for a in addrs:
            host, port = a.rsplit(":", 1)
            out.append((host.strip("[]"), int(port)))
        return out

    def ports(self):
        return [p for _, p in self.addresses()]

    @property
    def port(self):
        return self.ports()[0]

    @property
    def admin_port(self):
        return int(self.config["admin"]["address"].rsplit(":", 1)[1])

    def start(self):
        env = dict(os.environ)
        env.update(self.env or {})
        self.process = Process(
            self.tc,
            [gatehouse_bin(), "serve", "--config", self.config_path],
            stdout=os.path.join(self.dir, "stdout.log"),
            stderr=os.path.join(self.dir, "stderr.log"),
            env=env,
            cwd=self.dir,
            name="gatehouse",
        )
        self.proc = self.process.proc
        self.stdout, self.stderr = self.process.stdout, self.process.stderr
        self.process.wait_ports(self.addresses())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def terminate(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc:
            self.process.stop()

    def stderr_text(self):
        with open(os.path.join(self.dir, "stderr.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout_json(self):
        """The JSON objects printed on stdout (the access log when it goes to stdout)."""
        return json_lines(os.path.join(self.dir, "stdout.log"))

    def access_log(self, wait_for=None, timeout=3.0):
        """Parsed JSON lines of the access log; waits until wait_for(lines) is true."""
        deadline = time.monotonic() + timeout
        while True:
            lines = []
            if os.path.exists(self.access_log_path):
                with open(self.access_log_path, "rb") as f:
                    raw = f.read()
                for line in raw.decode("utf-8", "replace").splitlines():
                    if line.strip():
                        lines.append(json.loads(line))
            if wait_for is None or wait_for(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def access_log_raw(self):
        if not os.path.exists(self.access_log_path):
            return b""
        with open(self.access_log_path, "rb") as f:
            return f.read()


class GatehouseWithConfigFile(Gatehouse):
    """`gatehouse serve --config FILE` with a file the test did not write, used unchanged (its
    settings come from `env`, added to the environment). `addresses` are the (host, port) pairs
    to wait for (the file's listeners and admin). Logs go to `workdir`, also the process's cwd."""

    def __init__(self, testcase, config_path, env, addresses, workdir=None):
        self._prepare(testcase, workdir, env)
        self.config = {}
        self.config_path = config_path
        self._addresses = list(addresses)
        self.start()

    def addresses(self):
        return self._addresses


def base_config(listen_port, backend_url, admin_port=None, **extra):
    """One plain listener, one catch-all API to backend_url, short timeouts."""
    cfg = {
        "workers": 1,
        "listeners": [{"name": "plain", "address": "127.0.0.1:%d" % listen_port}],
    }
    if admin_port:
        cfg["admin"] = {"address": "127.0.0.1:%d" % admin_port}
    cfg["timeouts"] = {
        "header_read": "2s",
        "backend_connect": "1s",
        "backend_response": "5s",
        "drain": "5s",
    }
    cfg["backends"] = [{"id": "echo", "url": backend_url}]
    cfg["apis"] = [{"name": "all", "path": "/", "backend": "echo"}]
    cfg.update(extra)
    return cfg


# --- certificates ---------------------------------------------------------------------------------


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode()[-500:]))


def make_ca(d, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj", "/CN=" + name,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_cert(d, name, ca, cn, sans=None, client=False):
    """Leaf key+cert signed by `ca`; writes name.key, name.pem (leaf + CA chain), name.leaf.pem."""
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=d)
    ext = ["basicConstraints=CA:FALSE"]
    ext.append("extendedKeyUsage=" + ("clientAuth" if client else "serverAuth"))
    if sans:
        ext.append("subjectAltName=" + sans)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("\n".join(ext) + "\n")
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", name + ".leaf.pem", "-days", "2", "-extfile", name + ".ext",
             cwd=d)
    with open(os.path.join(d, name + ".pem"), "w") as out:
        for part in (name + ".leaf.pem", ca + ".pem"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())


def cert_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def make_pki(d):
    """CA, server (localhost/127.0.0.1), other.test, backend.test, clients from CA and from CA2."""
    require_tool("openssl")
    make_ca(d, "ca")
    make_ca(d, "ca2")
    make_cert(d, "server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1")
    make_cert(d, "other", "ca", "other.test", "DNS:other.test")
    make_cert(d, "backend", "ca", "backend.test", "DNS:backend.test,IP:127.0.0.1")
    make_cert(d, "client", "ca", "client", client=True)
    make_cert(d, "client2", "ca2", "client2", client=True)
    return {
        n: os.path.join(d, n)
        for n in ("ca", "ca2", "server", "other", "backend", "client", "client2")
    }


def sha1_upper(der):
    return hashlib.sha1(der).hexdigest().upper()


# --- nginx, HAProxy -------------------------------------------------------------------------------


class ServerProcess:
    """A server program (nginx, HAProxy) in the foreground, its stderr in a file; stopped with
    SIGTERM at cleanup."""

    def _start(self, testcase, argv, stderr_path, env=None):
        self.process = Process(testcase, argv, stderr=stderr_path, env=env, stop_timeout=5)
        self.proc = self.process.proc

    def wait(self, port):
        self.process.wait_ports([port])

    def stop(self):
        self.process.stop()


class Nginx(ServerProcess):
    """nginx in the foreground with a temp prefix; `server_block` is placed inside http {}."""

    def __init__(self, testcase, server_block, workdir=None):
        nginx = require_tool("nginx")
        self.dir = workdir or temp_dir(testcase, "gh-nginx-")
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        conf = """
daemon off;
master_process off;
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  {server}
}}
""".format(d=self.dir, server=server_block)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self._start(
            testcase, [nginx, "-c", self.conf, "-p", self.dir],
            os.path.join(self.dir, "logs", "stderr.log"))


class Haproxy(ServerProcess):
    """`haproxy -db -f FILE` in the foreground, the file checked with `haproxy -c` first; its
    stderr goes to `workdir`. `env` is the whole environment (None: this process's)."""

    def __init__(self, testcase, config_path, workdir, env=None):
        haproxy = require_tool("haproxy")
        run_command([haproxy, "-c", "-f", config_path], env=env)
        self._start(testcase, [haproxy, "-db", "-f", config_path],
                    os.path.join(workdir, "haproxy.stderr"), env)


class GatehouseTestCase(unittest.TestCase):
    """Base class with APIM error-shape assertions."""

    maxDiff = 4000

    def assertApimError(self, resp, status):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.header("Content-Type"), "application/json", resp)
        m = APIM_ERROR_RE.match(resp.body)
        self.assertIsNotNone(m, "not APIM's error shape: %r" % resp.body)
        self.assertEqual(int(m.group(1)), status)
