"""TaskFerry tool handlers for Hermes: each calls the local TaskFerry daemon's loopback API.

Configuration, as in the Go plugin: ``TASKFERRY_LOCAL_URL`` (default http://127.0.0.1:4318) and
``TASKFERRY_LOCAL_API_TOKEN`` (the daemon's local token; ``taskferry client`` writes it to
``$TASKFERRY_HOME/local-token``, which is read when the variable is unset). Handlers return JSON
strings and never raise: an error is ``{"ok": false, "error": "TaskFerry local API <code>: <body>"}``
exactly as the Go plugin returned it.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT_SECONDS = 15


def _base_url():
    return os.environ.get("TASKFERRY_LOCAL_URL", "http://127.0.0.1:4318").rstrip("/")


def _token():
    token = os.environ.get("TASKFERRY_LOCAL_API_TOKEN", "")
    if token:
        return token
    home = os.environ.get("TASKFERRY_HOME") or os.path.join(os.path.expanduser("~"), ".taskferry")
    try:
        with open(os.path.join(home, "local-token"), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


class _ApiError(Exception):
    pass


def _call(method, path, body=None, query=None):
    url = _base_url() + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    headers = {"Authorization": "Bearer " + _token(), "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as res:
            text = res.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        text = err.read().decode("utf-8", "replace")
        raise _ApiError("TaskFerry local API %d: %s" % (err.code, text)) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise _ApiError("TaskFerry local API unreachable at %s: %s" % (_base_url(), reason)) from None
    return json.loads(text) if text else {}


def _list(value):
    """A JSON array, or a comma-separated string, as a list of strings."""
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _opt(**kwargs):
    return {k: v for k, v in kwargs.items() if v not in (None, "")}


def _seg(text):
    """A handle or id as path segments (a handle's '/' is the route's); dots never climb."""
    parts = [urllib.parse.quote(p, safe="@") for p in str(text).split("/")]
    return "/".join(p.replace(".", "%2E") if p.strip(".") == "" else p for p in parts)


def _handler(fn):
    def handle(params, **kwargs):
        del kwargs
        try:
            return json.dumps(fn(params or {}))
        except _ApiError as err:
            return json.dumps({"ok": False, "error": str(err)})
        except (KeyError, TypeError, ValueError) as err:
            return json.dumps({"ok": False, "error": "invalid arguments: %s" % err})
    handle.__name__ = fn.__name__
    return handle


@_handler
def taskferry_health(p):
    return _call("GET", "/v1/health")


@_handler
def taskferry_register_agent(p):
    description = "\n\n".join(x for x in (p.get("tagline"), p.get("description")) if x)
    return _call("POST", "/v1/agents", _opt(
        handle=p["handle"],
        display_name=p.get("display_name"),
        description=description,
        capabilities=_list(p.get("capabilities")) or None,
    ) | {"public": bool(p.get("public_profile", False))})


@_handler
def taskferry_show_invite(p):
    return _call("POST", "/v1/invites", {"agent": p["agent"]})


@_handler
def taskferry_add_friend(p):
    return _call("POST", "/v1/connections", _opt(**{"from": p["from"], "invite": p["invite"],
                                                    "note": p.get("message")}))


@_handler
def taskferry_request_connection(p):
    return _call("POST", "/v1/connections", _opt(**{"from": p["from"], "to": p["to"],
                                                    "note": p.get("message")}))


@_handler
def taskferry_accept_connection(p):
    return _call("POST", "/v1/connections/%s/accept" % _seg(p["to"]), {"agent": p["from"]})


@_handler
def taskferry_create_task(p):
    inputs = _opt(requirements=_list(p.get("requirements")) or None,
                  expected_format=p.get("expected_format"))
    body = {"from": p["from"], "to": p["to"], "title": p["title"],
            "instructions": p["description"], "max_revisions": int(p.get("max_revisions", 3))}
    if inputs:
        body["inputs"] = inputs
    return _call("POST", "/v1/tasks", body)


@_handler
def taskferry_check_inbox(p):
    unprocessed = p.get("unprocessed", True)
    items, after = [], 0
    while True:
        page = _call("GET", "/v1/inbox", query={"agent": p["agent"], "after": after, "limit": 500})
        items.extend(page["items"])
        if len(page["items"]) < 500:
            break
        after = page["next_after"]
    if unprocessed:
        items = [m for m in items if m.get("state") != "processed"]
    return {"agent": p["agent"], "unprocessed": bool(unprocessed), "items": items}


@_handler
def taskferry_ack_message(p):
    return _call("POST", "/v1/messages/%s/ack" % _seg(p["message_id"]), {"state": "processed"})


@_handler
def taskferry_list_tasks(p):
    return _call("GET", "/v1/tasks")


def _action(p, action, body):
    return _call("POST", "/v1/tasks/%s/%s" % (_seg(p["task_id"]), action),
                 _opt(agent=p["from"], **body))


@_handler
def taskferry_accept_task(p):
    return _action(p, "accept", {"note": p.get("message")})


@_handler
def taskferry_decline_task(p):
    return _action(p, "decline", {"reason": p.get("reason")})


@_handler
def taskferry_submit_artifact(p):
    content = p.get("content")
    if content is None:
        content = {}
    artifact_type = p.get("artifact_type") or "json"
    return _action(p, "artifacts", {
        "content": json.dumps(content, indent=2),
        "content_type": "application/json",
        "name": None if artifact_type == "json" else artifact_type,
        "note": p.get("notes"),
    })


@_handler
def taskferry_request_revision(p):
    lines = [p["reason"]] + ["- " + c for c in (_list(p.get("requested_changes")) or [])]
    return _action(p, "revisions", {"feedback": "\n".join(lines)})


@_handler
def taskferry_complete_task(p):
    return _action(p, "complete", {"note": p.get("message")})


HANDLERS = {
    name: fn for name, fn in globals().items() if name.startswith("taskferry_") and callable(fn)
}
