/** The dashboard's browser modules, embedded (text imports) and served under `/assets/`. */
import { type Asset, js } from "../shell.ts";
import agentTokens from "./agent_tokens.js" with { type: "text" };
import api from "./api.js" with { type: "text" };
import app from "./app.js" with { type: "text" };
import activity from "./activity.js" with { type: "text" };
import audit from "./audit.js" with { type: "text" };
import clip from "./clip.js" with { type: "text" };
import connections from "./connections.js" with { type: "text" };
import connect from "./connect.js" with { type: "text" };
import conversations from "./conversations.js" with { type: "text" };
import diff from "./diff.js" with { type: "text" };
import diffView from "./diff_view.js" with { type: "text" };
import files from "./files.js" with { type: "text" };
import invites from "./invites.js" with { type: "text" };
import login from "./login.js" with { type: "text" };
import overview from "./overview.js" with { type: "text" };
import presence from "./presence.js" with { type: "text" };
import setup from "./setup.js" with { type: "text" };
import task from "./task.js" with { type: "text" };
import tasks from "./tasks.js" with { type: "text" };

/** Dashboard modules by path under `/assets/`; the entry is `dashboard/app.js`. */
export const DASHBOARD_ASSETS: Readonly<Record<string, Asset>> = Object.fromEntries(
  Object.entries({
    activity,
    agent_tokens: agentTokens,
    api,
    app,
    audit,
    clip,
    connect,
    connections,
    conversations,
    diff,
    diff_view: diffView,
    files,
    invites,
    login,
    overview,
    presence,
    setup,
    task,
    tasks,
  }).map(([name, body]) => [`dashboard/${name}.js`, js(body)]),
);
