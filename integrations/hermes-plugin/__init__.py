"""TaskFerry plugin for Hermes: the local TaskFerry daemon's tools, and a skill for using them.

Hermes loads this with ``register(ctx)``. Install: copy this directory to
``~/.hermes/plugins/taskferry/`` and set ``TASKFERRY_LOCAL_API_TOKEN`` (see plugin.yaml).
"""

from pathlib import Path

from . import schemas, tools

TOOLSET = "taskferry"


def register(ctx):
    """Registers the 15 TaskFerry tools in the ``taskferry`` toolset, and the bundled skill."""
    for name, schema in schemas.SCHEMAS.items():
        ctx.register_tool(
            name=name,
            toolset=TOOLSET,
            schema=schema,
            handler=tools.HANDLERS[name],
            description=schema["description"],
        )
    skill = Path(__file__).parent / "skills" / "taskferry" / "SKILL.md"
    if hasattr(ctx, "register_skill"):
        ctx.register_skill(name="taskferry", path=str(skill))
