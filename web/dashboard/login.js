// Login by the local API token (or a one-time link from `taskferry open`).
import { useState } from "preact/hooks";
import { ErrorBox, html, requestJson } from "../ui.js";

const LINK_ERRORS = {
  link_invalid: {
    code: "unauthorized",
    message:
      "That login link is invalid, expired or was already used. Run `taskferry open` for a new one.",
  },
  unauthorized: { code: "unauthorized", message: "That is not this daemon's local API token." },
};

/** The login form. The page keeps its #/… address, so an opened link survives the login. */
export function Login({ onLogin, expired }) {
  const hashError = /[?&]error=([a-z_]+)/.exec(location.hash)?.[1];
  const [error, setError] = useState(hashError ? LINK_ERRORS[hashError] ?? null : null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const token = new FormData(e.currentTarget).get("token");
    setBusy(true);
    setError(null);
    try {
      onLogin(await requestJson("/login", { method: "POST", body: { token } }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main class="narrow login" id="main">
      <h1>TaskFerry dashboard</h1>
      ${expired && !error
        ? html`<p class="notice" role="status">Your session ended. Log in again.</p>`
        : ""}
      <form method="post" action="/login" onSubmit=${submit} class="card">
        <label for="token">Local API token</label>
        <input id="token" name="token" type="password" required autocomplete="current-password"
          spellcheck="false" aria-describedby="token-help" autofocus />
        <p id="token-help" class="hint">
          It is in <code>$TASKFERRY_HOME/local-token</code> (default${" "}
          <code>~/.taskferry/local-token</code>). Or run <code>taskferry open</code> for a one-time
          login link.
        </p>
        <${ErrorBox} error=${error} />
        <button type="submit" disabled=${busy}>${busy ? "Logging in…" : "Log in"}</button>
      </form>
    </main>
  `;
}
