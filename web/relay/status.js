// The relay's status page: throughput and queue depth, sampled by the relay every few seconds.
import { useEffect, useState } from "preact/hooks";
import { Empty, ErrorBox, html, requestJson } from "../ui.js";

/** Polls GET /v1/stats every `intervalMs`. */
export function useStats(intervalMs) {
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      requestJson("/v1/stats").then(
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
  }, []);
  return { stats, error };
}

const W = 600;
const H = 140;
const PAD = 4;

function points(values, max) {
  if (values.length === 0) return "";
  const step = values.length > 1 ? (W - 2 * PAD) / (values.length - 1) : 0;
  return values.map((v, i) =>
    `${(PAD + i * step).toFixed(1)},${(H - PAD - (max ? (v / max) * (H - 2 * PAD) : 0)).toFixed(1)}`
  ).join(" ");
}

/** A small inline SVG line chart of one or more series. */
function Chart({ title, series, unit }) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const latest = series.map((s) => `${s.label} ${s.values.at(-1) ?? 0}`).join(", ");
  return html`
    <figure class="chart card">
      <figcaption><strong>${title}</strong> <span class="muted">(max ${Math.round(max * 10) /
        10} ${unit})</span></figcaption>
      <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${title}: now ${latest} ${unit}`} preserveAspectRatio="none">
          <line class="axis" x1="0" y1=${H - PAD} x2=${W} y2=${H - PAD} />
          ${series.map((s) =>
            html`<polyline class=${`series ${s.cls}`} points=${points(s.values, max)} />`
          )}
        </svg>
      <p class="legend">${series.map((s) =>
        html`
          <span class=${`key ${s.cls}`}>${s.label}: <strong>${s.values.at(-1) ??
            0}</strong> ${unit}</span>
        `
      )}</p>
    </figure>
  `;
}

/** The status page. */
export function Status() {
  const { stats, error } = useStats(3000);
  const samples = stats?.samples ?? [];
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
        <p class="muted">Sampled every ${stats.interval_seconds} s; the last ${samples
          .length} samples, in memory only.</p>
      `
      : html`<p class="loading" role="status">Loading…</p>`}
    ${stats && samples.length < 2 ? html`<${Empty}>Collecting samples…</${Empty}>` : ""}
    ${samples.length >= 2
      ? html`
        <${Chart} title="Throughput" unit="envelopes/min" series=${[
          { label: "accepted", cls: "s1", values: samples.map((s) => s.accepted_per_minute) },
          { label: "delivered", cls: "s2", values: samples.map((s) => s.delivered_per_minute) },
        ]} />
        <${Chart} title="Queue depth" unit="deliveries" series=${[
          { label: "waiting", cls: "s3", values: samples.map((s) => s.queue_depth) },
        ]} />
      `
      : ""}
  `;
}
