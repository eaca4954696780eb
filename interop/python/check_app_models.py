"""Interop: every app okta-sim renders must deserialize into the Okta Python SDK's typed model.

The SDK picks a model by `signOnMode` (SamlApplication, WsFederationApplication,
OpenIdConnectApplication, BrowserPluginApplication, ...) and those models mirror Okta's OpenAPI
spec, so a missing required field (say `settings.app.wReplyURL` of a WS-Federation app) is an
okta-sim bug. The check adds a few hand-made apps (every mode, a three-field SWA app, an
inactive app) through the control API, lists apps through the SDK (`list_applications`), then fetches each one
(`get_application`), and also validates the raw JSON with the SDK's converter so the failing
field is named.

Usage: python check_app_models.py [PATH/TO/okta-sim]
Prints one line per app and a closing "N passed, N failed" line; exits non-zero on failure.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

# The simulator serves plain http here; the SDK refuses http unless this testing switch is set,
# and it reads it when the SDK is imported.
os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"

EXPECTED_MODEL = {
    "SAML_2_0": "SamlApplication",
    "SAML_1_1": "Saml11Application",
    "WS_FEDERATION": "WsFederationApplication",
    "OPENID_CONNECT": "OpenIdConnectApplication",
    "BROWSER_PLUGIN": "BrowserPluginApplication",
    "SECURE_PASSWORD_STORE": "SecurePasswordStoreApplication",
    "BOOKMARK": "BookmarkApplication",
    "BASIC_AUTH": "BasicAuthApplication",
    "AUTO_LOGIN": "AutoLoginApplication",
}


def start_sim(binary, workdir):
    creds_path = os.path.join(workdir, "credentials.json")
    proc = subprocess.Popen(
        [binary, "--users", "60", "--groups", "10", "--apps", "25", "--log-days", "1",
         "--dpop", "optional", "--rate-limits", "off", "--credentials-out", creds_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("okta-sim listening on "):
            base = line.split("okta-sim listening on ", 1)[1].strip()
            with open(creds_path) as f:
                return proc, base, json.load(f)
        if proc.poll() is not None:
            raise RuntimeError("okta-sim exited: " + proc.stderr.read())
    proc.terminate()
    raise RuntimeError("okta-sim did not start in 60 s")


def sim_call(base, method, path, body):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def add_custom_apps(base):
    """Apps an admin adds by hand (generated catalog names), one per sign-on mode, plus a
    three-field SWA app and a deactivated app, through the simulator's control API."""
    for mode in EXPECTED_MODEL:
        sim_call(base, "POST", "/__sim/org-apps", {"label": f"Custom {mode.title()}", "signOnMode": mode})
    sim_call(base, "POST", "/__sim/org-apps",
             {"label": "Three Field Login", "name": "template_swa3field", "signOnMode": "BROWSER_PLUGIN"})
    app = sim_call(base, "POST", "/__sim/org-apps", {"label": "Retired Tool", "signOnMode": "SAML_2_0"})
    sim_call(base, "PATCH", f"/__sim/org-apps/{app['id']}", {"status": "INACTIVE"})


def enum_value(v):
    return getattr(v, "value", v)


async def run_checks(base, creds):
    from okta.client import Client as OktaClient
    from okta.models.application_json_converter import ApplicationJsonConverter

    client = OktaClient({
        "orgUrl": base,
        "authorizationMode": "PrivateKey",
        "clientId": creds["client_id"],
        "scopes": creds["scopes"],
        "privateKey": json.dumps(creds["private_key_jwk"]),
        "kid": creds["kid"],
    })
    results = []

    try:
        apps, _, err = await client.list_applications(limit=200)
    except Exception as e:  # noqa: BLE001 - a model validation error surfaces as an exception
        return [("list_applications", False, f"{type(e).__name__}: {e}")]
    if err is not None:
        return [("list_applications", False, f"SDK error: {err}")]
    results.append(("list_applications", True, f"{len(apps)} apps"))
    if not apps:
        return results + [("apps present", False, "the list is empty")]
    executor = client.get_request_executor()

    async def raw_get(path):
        """The app's JSON as served, fetched through the SDK's own (authenticated) executor."""
        request, err = await executor.create_request("GET", base + path, {}, {})
        assert err is None, f"create_request: {err}"
        _, _, body, err = await executor.fire_request(request)
        assert err is None, f"raw GET {path}: {err}"
        return json.loads(body)

    seen_modes = set()
    for listed in apps:
        mode = enum_value(listed.sign_on_mode)
        seen_modes.add(mode)
        name = f"{listed.id} {mode} {listed.name!r} ({listed.label})"
        try:
            want = EXPECTED_MODEL.get(mode)
            assert type(listed).__name__ == want, f"listed as {type(listed).__name__}, want {want}"
            got, _, err = await client.get_application(listed.id)
            assert err is None, f"get_application: {err}"
            assert type(got).__name__ == want, f"fetched as {type(got).__name__}, want {want}"
            assert got.id == listed.id, "get_application returned another app"
            # Strict re-validation of the raw JSON: names the field when one is missing.
            raw = await raw_get(f"/api/v1/apps/{listed.id}")
            ApplicationJsonConverter.from_dict(raw)
            results.append((name, True, want))
        except Exception as e:  # noqa: BLE001 - report every app, keep going
            results.append((name, False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))

    missing = set(EXPECTED_MODEL) - seen_modes
    results.append(("every sign-on mode present", not missing,
                     f"missing {sorted(missing)}" if missing else f"{len(seen_modes)} modes"))
    return results


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/okta-sim"
    with tempfile.TemporaryDirectory() as workdir:
        proc, base, creds = start_sim(binary, workdir)
        try:
            add_custom_apps(base)
            results = asyncio.run(run_checks(base, creds))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    passed = failed = 0
    for name, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} app-models: {name}: {detail}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
