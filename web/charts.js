// Small SVG charts for the relay's status page and the dashboard's activity view: a time axis
// with clock labels, a value axis with its unit, one colour (and dash) per series with a
// legend, and the values under the pointer. Written here (~150 lines) instead of vendoring a
// charting library: the pages run under a CSP with no CDN and no build step, and this is all
// the two pages need.
import { useState } from "preact/hooks";
import { html } from "./ui.js";

const H = 200;
const M = { left: 52, right: 12, top: 24, bottom: 28 };
const PH = H - M.top - M.bottom;

/** The top of a value axis with four equal whole-number steps of 1, 2 or 5 × 10^k. */
export function niceMax(v) {
  const raw = Math.max(1, v / 4);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw) ?? 10 * p;
  return Math.max(1, Math.ceil(step)) * 4;
}

/** A tick label for time `ms` on an axis spanning `spanMs`. */
export function timeLabel(ms, spanMs) {
  const d = new Date(ms);
  const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (spanMs <= 10 * 60_000) {
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  if (spanMs <= 36 * 3_600_000) return hm;
  return `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${hm}`;
}

function fmt(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/**
 * A chart over time. `times` are epoch milliseconds; each series is
 * `{ label, cls: "s1".."s6", values }` with one value per time. `kind` is "line" or "bar".
 */
export function TimeChart({ title, unit, times, series, kind = "line", id }) {
  const [hover, setHover] = useState(null);
  const n = times.length;
  if (n === 0) return null;
  const t0 = times[0];
  const t1 = times[n - 1];
  const span = Math.max(1, t1 - t0);
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  // A narrower drawing on small screens keeps the labels readable once scaled to fit.
  const W = globalThis.innerWidth < 600 ? 400 : 640;
  const PW = W - M.left - M.right;
  const band = PW / n;
  const x = (i) =>
    kind === "bar"
      ? M.left + band * (i + 0.5)
      : n === 1
      ? M.left + PW / 2
      : M.left + ((times[i] - t0) / span) * PW;
  const y = (v) => M.top + PH - (v / max) * PH;
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const xTicks = n === 1 ? [0] : [
    ...new Set(
      (W < 640 ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1]).map((f) => Math.round(f * (n - 1))),
    ),
  ];
  const pick = (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    const px = ((e.clientX - r.left) / r.width) * W;
    let best = 0;
    for (let i = 1; i < n; i++) if (Math.abs(x(i) - px) < Math.abs(x(best) - px)) best = i;
    setHover(best);
  };
  // Keyboard: arrows step through the points, as the pointer does.
  const key = (e) => {
    const step = { ArrowLeft: -1, ArrowRight: 1, Home: -n, End: n }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    setHover(Math.max(0, Math.min(n - 1, (hover ?? n - 1) + step)));
  };
  const at = hover ?? n - 1;
  const readout = series.map((s) => `${s.label} ${fmt(s.values[at] ?? 0)}`).join(", ");
  const barW = (band * 0.8) / series.length;
  return html`
    <figure class="chart card" id=${id}>
      <figcaption><strong>${title}</strong> <span class="muted">(${unit})</span></figcaption>
      <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${title}, ${unit}; latest: ${readout}`}
        tabindex="0" onPointerMove=${pick} onPointerLeave=${() => setHover(null)}
        onKeyDown=${key} onBlur=${() => setHover(null)}>
        ${yTicks.map((v) =>
          html`
            <g class="tick y">
              <line class="grid" x1=${M.left} x2=${W - M.right} y1=${y(v)} y2=${y(v)} />
              <text x=${M.left - 6} y=${y(v) + 4} text-anchor="end">${fmt(v)}</text>
            </g>
          `
        )}
        ${xTicks.map((i) =>
          html`
            <g class="tick x">
              <line class="axis" x1=${x(i)} x2=${x(i)} y1=${M.top + PH} y2=${M.top + PH + 4} />
              <text x=${x(i)} y=${H - 8} text-anchor=${i === 0 && n > 1
                ? "start"
                : i === n - 1 && n > 1
                ? "end"
                : "middle"}>${timeLabel(times[i], span)}</text>
            </g>
          `
        )}
        <line class="axis" x1=${M.left} x2=${M.left} y1=${M.top} y2=${M.top + PH} />
        <line class="axis" x1=${M.left} x2=${W - M.right} y1=${M.top + PH} y2=${M.top + PH} />
        <text class="unit" x="4" y="12">${unit}</text>
        ${kind === "bar"
          ? series.map((s, k) =>
            s.values.map((v, i) =>
              html`
                <rect class=${`bar ${s.cls}`} x=${x(i) - band * 0.4 + k * barW} y=${y(v)}
                  width=${Math.max(1, barW - 1)} height=${M.top + PH - y(v)} />
              `
            )
          )
          : series.map((s) =>
            html`<polyline class=${`series ${s.cls}`} points=${
              s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")
            } />`
          )}
        ${hover !== null
          ? html`<line class="hover" x1=${x(hover)} x2=${x(hover)} y1=${M.top} y2=${M.top + PH} />`
          : ""}
      </svg>
      <ul class="legend">${series.map((s) =>
        html`<li class=${`key ${s.cls}`}><span class="swatch" aria-hidden="true"></span>${s.label}</li>`
      )}</ul>
      <p class="readout muted" data-hover=${hover === null ? "no" : "yes"}>
        <time datetime=${new Date(times[at]).toISOString()}>${timeLabel(
          times[at],
          0,
        )}</time>: ${series.map((s, k) =>
          html`${k ? ", " : ""}<span class=${`key ${s.cls}`}>${s.label} <strong>${
            fmt(s.values[at] ?? 0)
          }</strong></span>`
        )} ${unit}</p>
    </figure>
  `;
}
