"""Shared by the end-to-end tests: where the examples live, what the examples' READMEs set up
(the admin CLI's environment, a partner's MSAL client), and the integration harness (processes,
ports, temp dirs, TLS, certificates, nginx, HAProxy), which they use as it is."""

import os
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


def admin_cli_env(admin_port, data_dir, **extra):
    """This process's environment with the admin CLI's connection as the READMEs export it
    (docs/cli.md): the admin API's URL and token file, plus `extra`; a GATEHOUSE_ADMIN_TOKEN
    from outside would take precedence, so it is dropped."""
    env = dict(os.environ)
    env.update({
        "GATEHOUSE_ADMIN_URL": "http://127.0.0.1:%d" % admin_port,
        "GATEHOUSE_ADMIN_TOKEN_FILE": os.path.join(data_dir, "admin.token"),
    }, **extra)
    env.pop("GATEHOUSE_ADMIN_TOKEN", None)
    return env


def msal_client(testcase, client_id, credential, authority, ca_file):
    """MSAL Python's confidential client as a partner builds it, trusting `ca_file` (also as
    REQUESTS_CA_BUNDLE until the test ends)."""
    import msal
    import requests
    from unittest import mock

    patch = mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": ca_file})
    patch.start()
    testcase.addCleanup(patch.stop)
    session = requests.Session()
    session.verify = ca_file
    testcase.addCleanup(session.close)
    return msal.ConfidentialClientApplication(
        client_id, authority=authority, client_credential=credential, instance_discovery=False,
        http_client=session)
