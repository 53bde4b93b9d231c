"""1 GiB through the proxy in each direction with bounded memory: gatehouse's VmRSS is sampled
throughout and must stay under 64 MB."""

import hashlib
import os
import threading
import time
import unittest

import backend as test_backend
import harness
from harness import Conn, Gatehouse, GatehouseTestCase, Nginx, TestBackend, free_port

GIB = 1 << 30
RSS_LIMIT_KB = 64 * 1024


class RssSampler:
    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self.stop_ = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_.is_set():
            try:
                self.peak = max(self.peak, harness.rss_kb(self.pid))
                self.samples += 1
            except OSError:
                return
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop_.set()
        self.thread.join()


class StreamingTest(GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = TestBackend(cls)
        cls.nginx_port = free_port()
        cls.files = harness.tempfile.mkdtemp(prefix="gh-files-")
        cls.addClassCleanup(harness.shutil.rmtree, cls.files, True)
        with open(os.path.join(cls.files, "big.bin"), "wb") as f:
            f.truncate(GIB)  # sparse: no disk, reads as zeros
        server = "server { listen 127.0.0.1:%d; root %s; }" % (cls.nginx_port, cls.files)
        cls.nginx = Nginx(cls, server)
        cls.nginx.wait(cls.nginx_port)
        cfg = harness.base_config(free_port(), cls.backend.url)
        cfg["timeouts"]["backend_response"] = "60s"
        cfg["apis"].insert(0, {"name": "files", "path": "/files", "strip_path": True,
                               "backend_url": "http://127.0.0.1:%d" % cls.nginx_port})
        cls.gh = Gatehouse(cls, cfg)

    def check_rss(self, sampler, what):
        self.assertGreater(sampler.samples, 3)
        self.assertLess(sampler.peak, RSS_LIMIT_KB, "%s: peak VmRSS %d kB" % (what, sampler.peak))
        print("\n%s: peak gatehouse VmRSS %.1f MB over %d samples"
              % (what, sampler.peak / 1024.0, sampler.samples))

    def test_upload_1gib_chunked(self):
        block = os.urandom(1 << 20)
        expected = hashlib.sha256()
        c = Conn(self.gh.port, timeout=120)
        self.addCleanup(c.close)
        c.sock.setsockopt(harness.socket.SOL_SOCKET, harness.socket.SO_SNDBUF, 4 << 20)
        with RssSampler(self.gh.proc.pid) as s:
            c.send(b"POST /upload HTTP/1.1\r\nHost: localhost\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")
            frame = b"%x\r\n" % len(block) + block + b"\r\n"
            for _ in range(GIB // len(block)):
                c.send(frame)
                expected.update(block)
            c.send(b"0\r\n\r\n")
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_length"], GIB)
        self.assertEqual(r.json()["body_sha256"], expected.hexdigest())
        self.check_rss(s, "upload 1 GiB chunked")

    def test_download_1gib_chunked_from_test_backend(self):
        c = Conn(self.gh.port, timeout=120)
        self.addCleanup(c.close)
        got = [0, hashlib.sha256()]
        prefix = bytearray()

        def sink(data):
            got[0] += len(data)
            if len(prefix) < 1 << 16:
                prefix.extend(data[: (1 << 16) - len(prefix)])

        with RssSampler(self.gh.proc.pid) as s:
            c.send(b"GET /stream?size=%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % GIB)
            r = c.read_response(sink=sink)
        self.assertEqual(r.status, 200)
        self.assertEqual(got[0], GIB)
        self.assertEqual(bytes(prefix), test_backend.pattern_bytes(1 << 16))
        self.check_rss(s, "download 1 GiB chunked")

    def test_download_1gib_sparse_file_from_nginx(self):
        c = Conn(self.gh.port, timeout=120)
        self.addCleanup(c.close)
        count = [0, 0]

        def sink(data):
            count[0] += len(data)
            count[1] += len(data) - data.count(0)

        with RssSampler(self.gh.proc.pid) as s:
            c.send(b"GET /files/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            r = c.read_response(sink=sink)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Length"), str(GIB))
        self.assertEqual(count, [GIB, 0])
        self.check_rss(s, "download 1 GiB from nginx")


if __name__ == "__main__":
    unittest.main()
