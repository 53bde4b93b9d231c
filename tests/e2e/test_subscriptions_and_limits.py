"""Scenario 5, subscription keys and limits: examples/subscriptions-and-limits/ as its README says.

The example's own files, unchanged, with every address from the environment: one API in three
products (gold: no limits; starter: rate-limit-by-key; trial: quota-by-key, both counted per
subscription id). Subscriptions are made and changed with `gatehouse subscription ...` (the
admin API) while Gatehouse runs.

- No key and an unknown key: APIM's exact 401 bodies and WWW-Authenticate.
- Key regeneration while in use: a client calls continuously with the primary key while the
  secondary is regenerated; it switches to the new secondary and the primary is regenerated.
  Zero failed requests; each replaced key then gets APIM's exact 401 for an invalid key.
- rate-limit-by-key: the 4th call in the window gets APIM's 429 body with a Retry-After that
  matches it; another subscription in the same product is not affected; a regenerated key does
  not reset the subscription's counter.
- quota-by-key: the 6th call gets APIM's 403 "Out of call volume quota" with Retry-After.
- Suspend, activate, delete; and a restart keeps the subscriptions and their keys.
"""

import json
import os
import re
import threading

import e2e_support
from e2e_support import harness

EXAMPLE = e2e_support.example("subscriptions-and-limits")
MISSING = (b'{ "statusCode": 401, "message": "Access denied due to missing subscription key. '
           b'Make sure to include subscription key when making requests to an API." }')
INVALID = (b'{ "statusCode": 401, "message": "Access denied due to invalid subscription key. '
           b'Make sure to provide a valid key for an active subscription." }')
RATE_LIMITED = re.compile(
    rb'^\{ "statusCode": 429, "message": "Rate limit is exceeded\. Try again in (\d+) seconds\." \}$')
OUT_OF_QUOTA = re.compile(
    rb'^\{ "statusCode": 403, "message": "Out of call volume quota\. Quota will be replenished '
    rb'in (?:(\d+)\.)?(\d\d):(\d\d):(\d\d)\." \}$')


class Load:
    """A client calling the API continuously with whatever key `key` holds."""

    def __init__(self, port, key):
        self.port = port
        self.key = key
        self.ok = 0
        self.failures = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn = None
        while not self.stop_flag.is_set():
            try:
                if conn is None:
                    conn = harness.Conn(self.port)
                r = conn.request("GET", "/orders/echo",
                                 [("Ocp-Apim-Subscription-Key", self.key)])
                if r.status == 200:
                    self.ok += 1
                else:
                    self.failures.append((r.status, r.body[:200]))
                if (r.header("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
            except OSError as e:  # a dropped connection is a failure too
                self.failures.append(("transport", repr(e)))
                conn = None
        if conn:
            conn.close()

    def served_more_than(self, n):
        return self.ok > n

    def stop(self):
        self.stop_flag.set()
        self.thread.join(10)


class SubscriptionsAndLimits(harness.GatehouseTestCase):
    @classmethod
    def setUpClass(cls):
        cls.gatehouse = harness.gatehouse_bin()
        cls.dir = harness.temp_dir(cls, "gh-e2e-subs-")
        cls.backend = harness.TestBackend(cls)
        cls.port, cls.admin_port = harness.free_port(), harness.free_port()
        data = os.path.join(cls.dir, "gatehouse-data")
        cls.env = dict(os.environ)
        cls.env.update({
            "GATEHOUSE_LISTEN": "127.0.0.1:%d" % cls.port,
            "GATEHOUSE_ADMIN": "127.0.0.1:%d" % cls.admin_port,
            "ORDERS_BACKEND_URL": cls.backend.url,
            "GATEHOUSE_DATA_DIR": data,
            "GATEHOUSE_ACCESS_LOG": os.path.join(cls.dir, "access.log"),
            "GATEHOUSE_AUDIT_LOG": os.path.join(cls.dir, "audit.log"),
            # What the README exports for the CLI.
            "GATEHOUSE_ADMIN_URL": "http://127.0.0.1:%d" % cls.admin_port,
            "GATEHOUSE_ADMIN_TOKEN_FILE": os.path.join(data, "admin.token"),
        })
        cls.env.pop("GATEHOUSE_ADMIN_TOKEN", None)
        cls.start_gatehouse()

    @classmethod
    def start_gatehouse(cls):
        """`gatehouse serve` as the README runs it (its output appended to gatehouse.log)."""
        cls.server = harness.Process(
            cls, [cls.gatehouse, "serve", "--config", os.path.join(EXAMPLE, "gatehouse.yaml")],
            stdout=os.path.join(cls.dir, "gatehouse.log"), stderr=harness.STDOUT, env=cls.env,
            cwd=cls.dir, stop_timeout=15, append=True)
        cls.server.wait_ports([cls.port, cls.admin_port], timeout=15.0)

    def cli(self, *args, check=True):
        return harness.run_command([self.gatehouse, *args], env=self.env, timeout=30,
                                   check=check)

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def create(self, sub_id, product):
        """`gatehouse subscription create`: the keys are in its answer only."""
        sub = self.cli_json("subscription", "create", "--id", sub_id, "--name", sub_id.title(),
                            "--scope", "/products/" + product)
        self.assertEqual(sub["state"], "active")
        return sub["primary_key"], sub["secondary_key"]

    def call(self, key=None):
        headers = [("Ocp-Apim-Subscription-Key", key)] if key is not None else []
        return harness.request(self.port, "GET", "/orders/echo", headers)

    def assertInvalidKey(self, resp):
        self.assertEqual(resp.status, 401, resp)
        self.assertEqual(resp.body, INVALID)
        self.assertEqual(resp.header("WWW-Authenticate"),
                         'AzureApiManagementKey realm="http://localhost/orders",'
                         'name="Ocp-Apim-Subscription-Key",type="header"')

    # ----- the README, in order -----

    def test_1_products_and_refusals_without_a_valid_key(self):
        products = self.cli_json("product", "list")["products"]
        self.assertEqual([(p["id"], p["apis"]) for p in products],
                         [("gold", ["orders"]), ("starter", ["orders"]), ("trial", ["orders"])])
        r = self.call()
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.body, MISSING)
        self.assertInvalidKey(self.call("0123456789abcdef0123456789abcdef"))
        table = self.cli("product", "list").stdout
        self.assertIn("SUBSCRIPTION REQUIRED", table)

    def test_2_keys_regenerated_while_in_use(self):
        primary, secondary = self.create("contoso", "gold")
        self.assertEqual(self.call(primary).status, 200)
        load = Load(self.port, primary)
        self.addCleanup(load.stop)
        harness.poll(lambda: load.served_more_than(20), "the client's first calls")

        # 1. The secondary is regenerated while the client uses the primary.
        regen = self.cli_json("subscription", "regenerate", "contoso", "secondary")
        new_secondary = regen["value"]
        self.assertNotEqual(new_secondary, secondary)
        self.assertInvalidKey(self.call(secondary))
        self.assertEqual(self.call(new_secondary).status, 200)
        seen = load.ok
        harness.poll(lambda: load.served_more_than(seen + 20), "calls after the secondary changed")

        # 2. The client switches to the new secondary; the primary is regenerated.
        load.key = new_secondary
        seen = load.ok
        harness.poll(lambda: load.served_more_than(seen + 20), "calls with the new secondary")
        new_primary = self.cli("subscription", "regenerate", "contoso", "primary",
                               "--key-only").stdout.strip()
        self.assertRegex(new_primary, r"^[0-9a-f]{32}$")
        self.assertInvalidKey(self.call(primary))  # the old primary: APIM's exact 401
        self.assertEqual(self.call(new_primary).status, 200)
        seen = load.ok
        harness.poll(lambda: load.served_more_than(seen + 20), "calls after the primary changed")
        load.stop()
        self.assertEqual(load.failures, [], "failed requests during key regeneration")
        self.assertGreater(load.ok, 80)

        # The keys are never shown again: only their hints.
        keys = self.cli_json("subscription", "keys", "contoso")
        self.assertEqual(keys["primary"]["hint"], new_primary[:3])
        self.assertEqual(keys["secondary"]["hint"], new_secondary[:3])
        shown = self.cli("subscription", "show", "contoso").stdout
        self.assertNotIn(new_primary, shown)
        self.assertIn("/products/gold", shown)
        listing = self.cli("subscription", "list").stdout
        self.assertIn("contoso", listing)
        self.assertNotIn(new_primary, listing)

    def test_3_rate_limit_per_subscription(self):
        a_primary, a_secondary = self.create("starter-a", "starter")
        b_primary, _ = self.create("starter-b", "starter")
        for remaining in ("2", "1", "0"):
            r = self.call(a_primary if remaining != "1" else a_secondary)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("X-RateLimit-Remaining"), remaining)
        r = self.call(a_primary)
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        m = RATE_LIMITED.match(r.body)
        self.assertIsNotNone(m, r.body)
        self.assertEqual(r.header("Retry-After"), m.group(1).decode())
        self.assertTrue(1 <= int(m.group(1)) <= 60, m.group(1))
        # Both keys share the subscription's counter; another subscription has its own.
        self.assertEqual(self.call(a_secondary).status, 429)
        self.assertEqual(self.call(b_primary).status, 200)
        # Counted by subscription id: a new key does not reset it.
        new_key = self.cli("subscription", "regenerate", "starter-a", "primary",
                           "--key-only").stdout.strip()
        self.assertEqual(self.call(new_key).status, 429)

    def test_4_quota_per_subscription(self):
        key, _ = self.create("trial-a", "trial")
        other, _ = self.create("trial-b", "trial")
        for _ in range(5):
            self.assertEqual(self.call(key).status, 200)
        r = self.call(key)
        self.assertEqual(r.status, 403, r)
        m = OUT_OF_QUOTA.match(r.body)
        self.assertIsNotNone(m, r.body)
        days, h, mi, s = (int(g) if g else 0 for g in m.groups())
        left = ((days * 24 + h) * 60 + mi) * 60 + s
        self.assertTrue(0 < left <= 3600, left)
        retry_after = int(r.header("Retry-After"))
        self.assertTrue(abs(retry_after - left) <= 1, (retry_after, left))
        self.assertEqual(self.call(other).status, 200)

    def test_5_suspend_activate_delete(self):
        key, _ = self.create("paused", "gold")
        self.assertEqual(self.call(key).status, 200)
        self.assertIn("suspended", self.cli("subscription", "suspend", "paused").stdout)
        self.assertInvalidKey(self.call(key))
        self.cli("subscription", "activate", "paused")
        self.assertEqual(self.call(key).status, 200)
        self.cli("subscription", "delete", "paused")
        self.assertInvalidKey(self.call(key))
        r = self.cli("subscription", "show", "paused", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)

    def test_6_restart_keeps_subscriptions(self):
        key, _ = self.create("durable", "gold")
        self.assertEqual(self.call(key).status, 200)
        self.server.stop()
        type(self).start_gatehouse()
        self.assertEqual(self.call(key).status, 200)
        ids = [s["id"] for s in self.cli_json("subscription", "list")["subscriptions"]]
        self.assertIn("durable", ids)
        # No key value reached the logs or the database file.
        for name in ("gatehouse.log", "access.log", "audit.log",
                     os.path.join("gatehouse-data", "gatehouse.db")):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(key.encode(), f.read(), name)


if __name__ == "__main__":
    import unittest

    unittest.main()
