"""Shared by the end-to-end tests: the integration harness, and where the examples live."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "examples")
CLIENTS = os.path.join(REPO, "tests", "clients")

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402,F401  (re-exported for the tests)


def example(*parts):
    """Path of a file in examples/."""
    return os.path.join(EXAMPLES, *parts)


class ExampleGatehouse(harness.Gatehouse):
    """`gatehouse serve --config <an example's file>`, the file unchanged: its settings come from
    `env`. `addresses` are the (host, port) pairs to wait for (the file's listeners and admin).
    Logs (stdout: the access log by default; stderr) go to `workdir`, also the process's cwd."""

    def __init__(self, testcase, config_path, env, addresses, workdir):
        self._example_addresses = list(addresses)
        super().__init__(testcase, {}, workdir=workdir, access_log=False, start=False, env=env)
        self.config_path = config_path
        self.start()

    def addresses(self):
        return self._example_addresses

    def stdout_json_lines(self):
        """JSON objects printed on stdout (the access log when it goes to stdout)."""
        self.stdout.flush()
        with open(os.path.join(self.dir, "stdout.log"), "rb") as f:
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


class Haproxy:
    """`haproxy -db -f FILE` (an example's file, unchanged) with `env` added to the environment;
    the file is checked with `haproxy -c` first. Stopped at the end of the test (or class)."""

    def __init__(self, testcase, config_path, env, workdir):
        binary = harness.require_tool("haproxy")
        full_env = dict(os.environ)
        full_env.update(env)
        check = subprocess.run([binary, "-c", "-f", config_path], capture_output=True,
                               env=full_env)
        if check.returncode != 0:
            raise AssertionError("haproxy -c: %s" % check.stderr.decode()[-2000:])
        self.stderr_path = os.path.join(workdir, "haproxy.stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([binary, "-db", "-f", config_path], env=full_env,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        harness.on_cleanup(testcase, self.stop)

    def wait(self, port):
        try:
            harness.wait_port(port, 10.0, self.proc, "haproxy")
        except AssertionError as e:
            with open(self.stderr_path, "rb") as f:
                raise AssertionError("%s: %s" % (e, f.read().decode()[-2000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
