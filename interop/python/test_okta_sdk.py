"""Interop: Okta's official Python SDK against okta-sim, unchanged.

Okta's SDK was written against real Okta, so where it and okta-sim disagree, okta-sim is wrong.
The SDK is configured as a customer would configure it: private key authentication, DPoP on,
the private key pasted as the JWK the "Generate new key" button gives. The simulator serves
HTTPS with its generated certificate (passed to the SDK as `sslContext`), so no testing
override of the SDK's https check is needed. The certificate reaches the SDK's aiohttp session
through `SSL_CERT_FILE`, set before the SDK (and so aiohttp, which builds its default SSL context
at import time) is imported. The SDK's own `sslContext` option can't be used with 3.4.x, whose config
loader deep-copies the config dict and fails on an `SSLContext` ("cannot pickle").

Usage: python test_okta_sdk.py PATH/TO/okta-sim
Prints one line per check and a closing "N passed, N failed" line; exits non-zero on failure.
"""

import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

USERS = 450  # several pages at the SDK's page size of 200


def start_sim(binary, workdir):
    creds = os.path.join(workdir, "credentials.json")
    proc = subprocess.Popen(
        [binary, "--seed", "7", "--users", str(USERS), "--groups", "25", "--apps", "12",
         "--log-days", "3", "--tls", "--dpop", "required", "--rate-limits", "okta",
         "--credentials-out", creds],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("okta-sim listening on "):
            with open(creds) as f:
                return proc, json.load(f), os.path.join(workdir, "okta-sim-ca.pem")
        if proc.poll() is not None:
            raise RuntimeError("okta-sim exited: " + proc.stderr.read())
    raise RuntimeError("okta-sim did not start in 60 s")


def sim_get(base, path, ca):
    import urllib.request
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(base + path, context=ctx) as r:
        return json.load(r)


async def collect(method, *args, **kwargs):
    """Calls an SDK list method and pages through every result the way the SDK's own
    `paginate_all` does (the `after` cursor from the `Link rel="next"` header), but raises on
    an error instead of silently stopping. Returns (items, pages)."""
    from okta.pagination import PaginationHelper

    items, pages, after = [], 0, None
    while True:
        data, resp, err = await method(*args, **kwargs, **({"after": after} if after else {}))
        if err:
            raise AssertionError(f"SDK error on page {pages + 1}: {err}")
        pages += 1
        items.extend(data or [])
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if not after:
            return items, pages


async def run_checks(creds, ca):
    os.environ["SSL_CERT_FILE"] = ca
    from okta.client import Client as OktaClient  # after SSL_CERT_FILE, see the module doc

    client = OktaClient({
        "orgUrl": creds["base_url"],
        "authorizationMode": "PrivateKey",
        "clientId": creds["client_id"],
        "scopes": creds["scopes"],
        "privateKey": json.dumps(creds["private_key_jwk"]),
        "kid": creds["kid"],
        "dpopEnabled": True,
    })
    truth = sim_get(creds["base_url"], "/__sim/summary", ca)
    results = []

    async def check(name, coro):
        try:
            detail = await coro
            results.append((name, True, detail))
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            results.append((name, False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))

    state = {}

    async def users():
        items, pages = await collect(client.list_users)
        expected = sum(v for k, v in truth["users"]["by_status"].items() if k != "DEPROVISIONED")
        assert pages >= 3, f"expected several pages, got {pages}"
        assert len(items) == expected, f"{len(items)} users listed, {expected} expected"
        assert len({u.id for u in items}) == len(items), "a user was listed twice"
        state["user"] = next(u for u in items if str(getattr(u.status, "value", u.status)) == "ACTIVE")
        return f"{len(items)} users in {pages} pages"

    async def groups():
        items, pages = await collect(client.list_groups)
        assert len(items) == truth["groups"]["total"], f"{len(items)} groups"
        okta_groups = [g for g in items if str(getattr(g.type, "value", g.type)) == "OKTA_GROUP"]
        # GroupProfile is a oneOf wrapper in the SDK; the concrete profile is `actual_instance`.
        state["group"] = max(okta_groups, key=lambda g: g.profile.actual_instance.name)
        state["groups"] = items
        return f"{len(items)} groups"

    async def members():
        group = next(g for g in state["groups"] if str(getattr(g.type, "value", g.type)) == "BUILT_IN")
        items, pages = await collect(client.list_group_users, group.id, limit=100)
        assert len(items) == truth["users"]["total"], f"Everyone has {len(items)} members"
        return f"Everyone: {len(items)} members in {pages} pages"

    async def apps():
        items, pages = await collect(client.list_applications)
        assert len(items) == truth["apps"]["total"], f"{len(items)} apps, {truth['apps_total']} expected"
        state["apps"] = items
        return f"{len(items)} apps"

    async def app_users():
        total = 0
        for app in state["apps"]:
            items, _ = await collect(client.list_application_users, app.id, limit=20)
            total += len(items)
        assert total == truth["app_user_assignments"]["total"], f"{total} app users"
        return f"{total} app-user assignments over {len(state['apps'])} apps"

    async def logs():
        items, pages = await collect_bounded_logs()
        assert pages >= 2, f"expected several pages of log events, got {pages}"
        uuids = [e.uuid for e in items]
        assert len(set(uuids)) == len(uuids), "an event was returned twice"
        published = [e.published for e in items]
        assert published == sorted(published), "bounded query not in published order"
        return f"{len(items)} log events in {pages} pages"

    async def polling():
        # A polling query (no `until`) always carries a next link, even on an empty page.
        from okta.pagination import PaginationHelper
        since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 600))
        data, resp, err = await client.list_log_events(since=since, limit=1000)
        assert err is None, f"SDK error: {err}"
        after = PaginationHelper.extract_next_cursor(resp.headers)
        assert after, "polling query without a next link"
        data, resp, err = await client.list_log_events(after=after, limit=1000)
        assert err is None, f"SDK error: {err}"
        assert data == [] or data is None, f"{len(data)} new events on an idle org"
        assert PaginationHelper.extract_next_cursor(resp.headers), "empty polling page without next"
        return "next present on the empty page"

    async def collect_bounded_logs():
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 2 * 86400))
        return await collect(client.list_log_events, since=since, until=now, limit=100)

    async def membership():
        group, user = state["group"], state["user"]
        _, resp, err = await client.assign_user_to_group(group.id, user.id)
        assert err is None, f"add: {err}"
        members, _ = await collect(client.list_group_users, group.id)
        assert any(m.id == user.id for m in members), "user not a member after add"
        _, resp, err = await client.unassign_user_from_group(group.id, user.id)
        assert err is None, f"remove: {err}"
        members, _ = await collect(client.list_group_users, group.id)
        assert all(m.id != user.id for m in members), "user still a member after remove"
        return f"added and removed {user.id} in {group.id}"

    for name, fn in [("list users (paged)", users), ("list groups", groups), ("group members", members),
                     ("list apps", apps), ("app users", app_users), ("system log (bounded, paged)", logs),
                     ("system log (polling)", polling),
                     ("add and remove a group member", membership)]:
        await check(name, fn())
    return results


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/okta-sim"
    with tempfile.TemporaryDirectory() as workdir:
        proc, creds, ca = start_sim(binary, workdir)
        try:
            results = asyncio.run(run_checks(creds, ca))
            requests = sim_get(creds["base_url"], "/__sim/requests", ca)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    passed = failed = 0
    for name, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} python-sdk: {name}: {detail}")
        passed += ok
        failed += not ok
    # The SDK must have used DPoP for API calls.
    records = requests if isinstance(requests, list) else requests.get("requests", [])
    api = [r for r in records if r["uri"].startswith("/api/v1/")]
    dpop_ok = bool(api) and all(r.get("auth_scheme") == "DPoP" for r in api)
    print(f"{'ok  ' if dpop_ok else 'FAIL'} python-sdk: every API call used DPoP ({len(api)} calls)")
    passed += dpop_ok
    failed += not dpop_ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
