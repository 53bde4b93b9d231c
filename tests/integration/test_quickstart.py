"""The README's first-hour path stays true: `gatehouse dev` and the examples people start from."""

import os
import shlex
import signal
import subprocess
import tempfile
import unittest

from harness import TestBackend, free_port, gatehouse_bin, on_cleanup, require_tool, wait_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_env_file(path):
    """Parses the `export NAME='value'` lines of dev.env as a shell would."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("export "):
                continue
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0]
    return env


class DevCommand(unittest.TestCase):
    def start_dev(self, data_dir, port, admin_port):
        out = open(os.path.join(data_dir + ".out"), "w+")
        proc = subprocess.Popen(
            [gatehouse_bin(), "dev", "--data-dir", data_dir,
             "--listen", "127.0.0.1:%d" % port, "--admin", "127.0.0.1:%d" % admin_port],
            stdout=out, stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()
            out.close()

        on_cleanup(self, stop)
        wait_port(port, proc=proc, what="gatehouse dev")
        return proc, out

    def curl(self, env, path):
        curl = require_tool("curl")
        return subprocess.run(
            [curl, "-sS", "--cacert", env["GATEHOUSE_CA_BUNDLE"], "-w", "\n%{http_code}",
             env["DEMO_API_URL"] + path], capture_output=True, text=True, timeout=20)

    def test_dev_serves_the_demo_api_over_tls_and_reuses_its_data_dir(self):
        tmp = tempfile.mkdtemp(prefix="gh-dev-")
        data_dir = os.path.join(tmp, "data")
        port, admin_port = free_port(), free_port()
        proc, out = self.start_dev(data_dir, port, admin_port)

        env = read_env_file(os.path.join(data_dir, "dev.env"))
        self.assertEqual(env["GATEHOUSE_AUTHORITY"], "https://127.0.0.1:%d" % port)
        self.assertEqual(env["DEMO_API_URL"], "https://127.0.0.1:%d/demo" % port)
        result = self.curl(env, "/hello")
        self.assertEqual(result.returncode, 0, result.stderr)
        body, status = result.stdout.rsplit("\n", 1)
        self.assertEqual(status, "200")
        self.assertIn("Hello from the Gatehouse demo API", body)
        self.assertIn('"path": "/demo/hello"', body)

        # Private keys are not readable by others.
        for key in ("ca.key", "tls.key"):
            self.assertEqual(os.stat(os.path.join(data_dir, key)).st_mode & 0o077, 0, key)
        out.seek(0)
        banner = out.read()
        self.assertIn("curl --cacert", banner)
        self.assertIn(". %s/dev.env" % data_dir, banner)

        # SIGTERM drains and exits 0.
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), 0)

        # A second start on the same data dir keeps the CA, so clients keep trusting it.
        with open(os.path.join(data_dir, "ca.pem")) as f:
            ca_before = f.read()
        proc2, _ = self.start_dev(data_dir, port, admin_port)
        with open(os.path.join(data_dir, "ca.pem")) as f:
            self.assertEqual(f.read(), ca_before)
        result = self.curl(env, "/again")
        self.assertTrue(result.stdout.endswith("\n200"), result.stdout + result.stderr)
        proc2.send_signal(signal.SIGTERM)
        self.assertEqual(proc2.wait(timeout=20), 0)

    def test_dev_rejects_a_bad_listen_address(self):
        result = subprocess.run([gatehouse_bin(), "dev", "--listen", "nonsense"],
                                capture_output=True, text=True, timeout=20)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--listen", result.stderr)


class ProxyExample(unittest.TestCase):
    def test_examples_proxy_runs_unchanged_with_environment(self):
        backend = TestBackend(self)
        port, admin_port = free_port(), free_port()
        env = dict(os.environ, ORIGIN_URL=backend.url,
                   GATEHOUSE_LISTEN="127.0.0.1:%d" % port,
                   GATEHOUSE_ADMIN="127.0.0.1:%d" % admin_port)
        config = os.path.join(REPO, "examples", "proxy", "gatehouse.yaml")
        check = subprocess.run([gatehouse_bin(), "config", "check", config], env=env,
                               capture_output=True, text=True, timeout=20)
        self.assertEqual(check.returncode, 0, check.stderr)
        proc = subprocess.Popen([gatehouse_bin(), "serve", "--config", config], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()

        on_cleanup(self, stop)
        wait_port(port, proc=proc, what="gatehouse serve")
        from harness import request
        r = request(port, "GET", "/echo/anything?x=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["target"], "/echo/anything?x=1")
        self.assertEqual(request(admin_port, "GET", "/healthz").status, 200)

    def test_examples_proxy_without_origin_fails_clearly(self):
        config = os.path.join(REPO, "examples", "proxy", "gatehouse.yaml")
        env = {k: v for k, v in os.environ.items() if k != "ORIGIN_URL"}
        result = subprocess.run([gatehouse_bin(), "config", "check", config], env=env,
                                capture_output=True, text=True, timeout=20)
        self.assertEqual(result.returncode, 1)
        self.assertIn("ORIGIN_URL", result.stderr)
        self.assertIn("gatehouse.yaml:", result.stderr)


if __name__ == "__main__":
    unittest.main()
