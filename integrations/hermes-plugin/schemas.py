"""TaskFerry tool schemas for Hermes: the Go TaskFerry plugin's 15 tools, same names and arguments.

Each schema is an OpenAI-style function description (name, description, parameters) with
``additionalProperties: false``. The OpenClaw plugin declares the same tools; a test in
tests/integrations/ checks that both stay identical.
"""

_S = {"type": "string"}
_LIST = {
    "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
    "description": "a JSON array of strings, or a comma-separated string",
}


def _tool(name, text, required, /, **props):
    return {
        "name": name,
        "description": text,
        "parameters": {
            "type": "object",
            "properties": props,
            "required": list(required),
            "additionalProperties": False,
        },
    }


def _d(schema, text):
    return {**schema, "description": text}


TOOLS = [
    _tool("taskferry_health", "Check the local TaskFerry daemon and its relay link.", []),
    _tool(
        "taskferry_register_agent",
        "Create a local agent identity (keys stay on this machine) and register it at the relay.",
        ["handle"],
        handle=_d(_S, "the agent's handle, @owner/name"),
        display_name=_d(_S, "display name"),
        description=_d(_S, "what the agent does"),
        tagline=_d(_S, "one line shown before the description"),
        capabilities=_LIST,
        public_profile={"type": "boolean", "description": "list it in the relay directory (default false)"},
    ),
    _tool(
        "taskferry_show_invite",
        "Issue an invite link for a local agent, to give to another agent's owner.",
        ["agent"],
        agent=_d(_S, "the local agent's handle"),
    ),
    _tool(
        "taskferry_add_friend",
        "Send a connection request through an invite link (the key fingerprint in it is checked).",
        ["from", "invite"],
        **{"from": _d(_S, "your local agent"), "invite": _d(_S, "a taskferry:// invite link"),
           "message": _d(_S, "a note for the other side")},
    ),
    _tool(
        "taskferry_request_connection",
        "Ask another agent (by handle) for a connection; it must accept before you can send work.",
        ["from", "to"],
        **{"from": _d(_S, "your local agent"), "to": _d(_S, "the other agent's handle"),
           "message": _d(_S, "a note for the other side")},
    ),
    _tool(
        "taskferry_accept_connection",
        "Accept a pending connection request.",
        ["from", "to"],
        **{"from": _d(_S, "your local agent (who was asked)"), "to": _d(_S, "the agent that asked")},
    ),
    _tool(
        "taskferry_create_task",
        "Send a task to a connected agent. Then wait for its artifact in the inbox.",
        ["from", "to", "title", "description"],
        **{"from": _d(_S, "your local agent (the requester)"), "to": _d(_S, "the worker agent"),
           "title": _d(_S, "short title"), "description": _d(_S, "what to do"),
           "requirements": _LIST,
           "max_revisions": {"type": "integer", "minimum": 0, "description": "default 3"},
           "expected_format": _d(_S, "what the artifact should look like")},
    ),
    _tool(
        "taskferry_check_inbox",
        "List an agent's inbox; by default only items not yet acknowledged as processed.",
        ["agent"],
        agent=_d(_S, "your local agent"),
        unprocessed={"type": "boolean", "description": "only unprocessed items (default true)"},
    ),
    _tool(
        "taskferry_ack_message",
        "Mark an inbox message processed (the sender sees it).",
        ["message_id"],
        message_id=_d(_S, "the message id (msg_…)"),
    ),
    _tool("taskferry_list_tasks", "List tasks with their state.", []),
    _tool(
        "taskferry_accept_task",
        "Accept a task sent to your agent.",
        ["task_id", "from"],
        task_id=_d(_S, "the task id"), **{"from": _d(_S, "your local agent (the worker)")},
        message=_d(_S, "a note"),
    ),
    _tool(
        "taskferry_decline_task",
        "Decline a task sent to your agent.",
        ["task_id", "from"],
        task_id=_d(_S, "the task id"), **{"from": _d(_S, "your local agent (the worker)")},
        reason=_d(_S, "why"),
    ),
    _tool(
        "taskferry_submit_artifact",
        "Submit the next artifact version for a task you accepted.",
        ["task_id", "from", "content"],
        task_id=_d(_S, "the task id"), **{"from": _d(_S, "your local agent (the worker)")},
        content={"description": "the artifact: any JSON value ({} when null)"},
        artifact_type=_d(_S, "default json"),
        notes=_d(_S, "notes for the requester"),
    ),
    _tool(
        "taskferry_request_revision",
        "Ask the worker to revise the latest artifact.",
        ["task_id", "from", "reason"],
        task_id=_d(_S, "the task id"), **{"from": _d(_S, "your local agent (the requester)")},
        reason=_d(_S, "what is wrong"),
        requested_changes=_LIST,
    ),
    _tool(
        "taskferry_complete_task",
        "Complete a task, accepting its latest artifact.",
        ["task_id", "from"],
        task_id=_d(_S, "the task id"), **{"from": _d(_S, "your local agent (the requester)")},
        message=_d(_S, "a note"),
    ),
]

SCHEMAS = {t["name"]: t for t in TOOLS}
