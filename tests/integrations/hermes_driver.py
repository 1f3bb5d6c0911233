"""Drives the TaskFerry Hermes plugin (integrations/hermes-plugin) the way Hermes does.

Loads the package, calls register(ctx) with a recording ctx, prints what was registered, then
answers JSON lines {"env", "tool", "args"} with the handler's raw result string.
"""
import importlib.util
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the plugin directory clean

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "integrations", "hermes-plugin")


class Ctx:
    def __init__(self):
        self.tools = {}
        self.skills = []

    def register_tool(self, name, toolset, schema, handler, description=None, **_):
        self.tools[name] = {"toolset": toolset, "schema": schema, "handler": handler}

    def register_skill(self, name, path):
        self.skills.append({"name": name, "path": path, "exists": os.path.isfile(path)})


spec = importlib.util.spec_from_file_location(
    "taskferry_hermes", os.path.join(ROOT, "__init__.py"), submodule_search_locations=[ROOT])
module = importlib.util.module_from_spec(spec)
sys.modules["taskferry_hermes"] = module
spec.loader.exec_module(module)
ctx = Ctx()
module.register(ctx)
print(json.dumps({
    "tools": [{"name": n, "toolset": t["toolset"], "schema": t["schema"]} for n, t in ctx.tools.items()],
    "skills": ctx.skills,
}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    os.environ.update(req["env"])
    result = ctx.tools[req["tool"]]["handler"](req["args"], task_id="t1")
    assert isinstance(result, str), "handlers return JSON strings"
    print(json.dumps({"raw": result}), flush=True)
