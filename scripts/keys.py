"""API keys and the audit log from the command line (`make keys ARGS="..."`).

    python -m scripts.keys issue --name "唐家庄社区书记" --role secretary --scope wgz-z1-c1
    python -m scripts.keys list
    python -m scripts.keys revoke <key id>
    python -m scripts.keys audit --action unmasked_read --from 2026-11-01

It talks to a running gateway (--base, default http://127.0.0.1:$GATEWAY_PORT)
as the key in LIANXIN_TOKEN, else the bootstrap LIANXIN_ADMIN_TOKEN: keys live
in the gateway's store, which is the only place that can issue them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import requests

from lianxin.access import ROLES
from lianxin.config import api_token, auth_headers


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not api_token():
        print("set LIANXIN_TOKEN (an admin's key) or LIANXIN_ADMIN_TOKEN (the bootstrap token)", file=sys.stderr)
        return 2
    base = args.base.rstrip("/") + "/api/v1"
    try:
        if args.command == "issue":
            body = {"name": args.name, "role": args.role, "scope_unit_id": args.scope, "expires_on": args.expires}
            found = _call("POST", f"{base}/api-keys", json={k: v for k, v in body.items() if v is not None})
            print(f"key {found['id']} ({found['role']}, scope {found['scope_unit_id'] or 'the whole tree'}) issued.")
            print("Its token is shown this once; give it to its holder and keep no copy:")
            print(found["token"])
        elif args.command == "list":
            for key in _call("GET", f"{base}/api-keys")["keys"]:
                state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
                print(f"{key['id']}  {key['role']:<10} {key['scope_unit_id'] or '(whole tree)':<20} "
                      f"{state:<40} {key['name']}")
        elif args.command == "revoke":
            found = _call("DELETE", f"{base}/api-keys/{args.key_id}")
            print(f"key {found['id']} ({found['name']}) revoked at {found['revoked_at']}")
        else:
            params = {"from": args.since, "to": args.until, "key_id": args.key_id, "action": args.action,
                      "limit": args.limit}
            answer = _call("GET", f"{base}/audit", params={k: v for k, v in params.items() if v is not None})
            for entry in answer["entries"]:
                print(json.dumps(entry, ensure_ascii=False))
            print(f"({answer['count']} entries; kept {answer['retention_days']} days)", file=sys.stderr)
    except CommandError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


class CommandError(Exception):
    pass


def _call(method: str, url: str, **kwargs) -> dict:
    try:
        response = requests.request(method, url, headers=auth_headers(), timeout=15, **kwargs)
    except requests.RequestException as exc:
        raise CommandError(f"the gateway did not answer at {url}: {exc}")
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title")
            errors = problem.get("errors")
        except ValueError:
            detail, errors = response.text[:300], None
        raise CommandError(f"{method} {url} -> {response.status_code}: {detail}"
                           + (f" {json.dumps(errors, ensure_ascii=False)}" if errors else ""))
    return response.json()


def _parser() -> argparse.ArgumentParser:
    port = os.environ.get("GATEWAY_PORT") or "8000"
    parser = argparse.ArgumentParser(prog="python -m scripts.keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=f"http://127.0.0.1:{port}", help="the gateway (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="issue a key (its token is printed once)")
    issue.add_argument("--name", required=True, help="who or what holds it")
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--scope", help="org unit id whose subtree it reaches (required for a secretary)")
    issue.add_argument("--expires", help="YYYY-MM-DD: it stops working at the start of that day")
    commands.add_parser("list", help="every key, active and revoked (never their tokens)")
    revoke = commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    audit = commands.add_parser("audit", help="the audit log, newest first, one JSON entry per line")
    audit.add_argument("--from", dest="since", help="YYYY-MM-DD")
    audit.add_argument("--to", dest="until", help="YYYY-MM-DD (inclusive)")
    audit.add_argument("--key-id")
    audit.add_argument("--action", choices=("write", "unmasked_read", "denied", "intake"))
    audit.add_argument("--limit", type=int, default=100)
    return parser


if __name__ == "__main__":
    sys.exit(main())
