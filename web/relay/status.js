// The relay's status page: throughput and queue depth from the relay's bounded in-memory
// history (15 minutes at 5 s, 24 hours at 1 minute; lib/relay/status_history.ts).
import { useEffect, useState } from "preact/hooks";
import { Empty, ErrorBox, html, requestJson } from "../ui.js";
import { TimeChart } from "../charts.js";

const RANGES = [["15m", "15 minutes"], ["1h", "1 hour"], ["24h", "24 hours"]];

/** Polls GET /v1/stats?range= every `intervalMs`. */
export function useStats(intervalMs, range = "15m") {
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      requestJson(`/v1/stats?range=${encodeURIComponent(range)}`).then(
        (s) => {
          if (!live) return;
          setStats(s);
          setError(null);
        },
        (e) => live && setError(e),
      );
    load();
    const t = setInterval(load, intervalMs);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [range]);
  return { stats, error };
}

/** The status page. */
export function Status() {
  const [range, setRange] = useState("15m");
  const { stats, error } = useStats(3000, range);
  const samples = stats?.range === range ? stats.samples : [];
  const times = samples.map((s) => Date.parse(s.at));
  return html`
    <h1>Relay status</h1>
    <${ErrorBox} error=${error} />
    ${stats
      ? html`
        <dl class="counts card" aria-live="polite">
          <div>
            <dt>Daemons connected</dt>
            <dd>${stats.connected_clients}</dd>
          </div>
          <div>
            <dt>Queue depth</dt>
            <dd data-count="queue_depth">${stats.queue_depth}</dd>
          </div>
          <div>
            <dt>Accepted (total)</dt>
            <dd data-count="accepted_total">${stats.accepted_total}</dd>
          </div>
          <div>
            <dt>Delivered (total)</dt>
            <dd data-count="delivered_total">${stats.delivered_total}</dd>
          </div>
        </dl>
      `
      : html`<p class="loading" role="status">Loading…</p>`}
    <form class="inline range" onSubmit=${(e) => e.preventDefault()}>
      <fieldset>
        <legend>Range</legend>
        ${RANGES.map(([value, label]) =>
          html`<label><input type="radio" name="range" value=${value} checked=${range === value}
            onChange=${() => setRange(value)} /> ${label}</label>`
        )}
      </fieldset>
    </form>
    ${stats
      ? html`<p class="muted">One point every ${stats.interval_seconds} s. The relay keeps 15 minutes
          at 5 s and 24 hours at 1 minute, in memory only (lost on restart).</p>`
      : ""}
    ${stats && samples.length < 2 ? html`<${Empty}>Collecting samples…</${Empty}>` : ""}
    ${samples.length >= 2
      ? html`
        <div class="chart-grid">
          <${TimeChart} id="chart-throughput" title="Throughput" unit="envelopes/min" times=${times}
            series=${[
              { label: "accepted", cls: "s1", values: samples.map((s) => s.accepted_per_minute) },
              { label: "delivered", cls: "s2", values: samples.map((s) => s.delivered_per_minute) },
            ]} />
          <${TimeChart} id="chart-queue" title="Queue depth" unit="deliveries waiting" times=${times}
            series=${[{
              label: "waiting",
              cls: "s3",
              values: samples.map((s) => s.queue_depth),
            }]} />
          <${TimeChart} id="chart-clients" title="Daemons connected" unit="daemons" times=${times}
            series=${[{
              label: "connected",
              cls: "s4",
              values: samples.map((s) => s.connected_clients),
            }]} />
        </div>
      `
      : ""}
  `;
}
