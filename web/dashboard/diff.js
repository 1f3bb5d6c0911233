// A line diff by longest common subsequence (no dependencies; also imported by tests).
// Bounded so a peer's huge artifact cannot freeze the page: lines are interned to numbers (a
// comparison costs the same however long the line), the common head and tail are skipped in
// linear time, and above MAX_CELLS the changed middle is shown as removed + added instead of
// searched (2M cells take ~10 ms; the table shows only the first rows until "Show all").

/** Above this many cell comparisons the middle is shown as removed + added instead. */
export const MAX_CELLS = 2_000_000;

/**
 * Diffs two texts line by line. Returns rows `{ op, text, a, b }` where `op` is " " (both),
 * "-" (only in `before`) or "+" (only in `after`), and `a` / `b` are 1-based line numbers in
 * `before` / `after` (null where the line does not exist).
 */
export function lineDiff(before, after) {
  const x = splitLines(before);
  const y = splitLines(after);
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  const rows = [];
  for (let i = 0; i < start; i++) rows.push({ op: " ", text: x[i], a: i + 1, b: i + 1 });
  rows.push(...middle(x, y, start, endX, endY));
  for (let i = endX, j = endY; i < x.length; i++, j++) {
    rows.push({ op: " ", text: x[i], a: i + 1, b: j + 1 });
  }
  return rows;
}

function splitLines(text) {
  if (text === "") return [];
  const lines = String(text).split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Numbers for the lines of the changed middles: equal lines get equal numbers. */
function intern(x, y, start, endX, endY) {
  const ids = new Map();
  const id = (line) => {
    let v = ids.get(line);
    if (v === undefined) ids.set(line, v = ids.size);
    return v;
  };
  const xi = new Uint32Array(endX - start);
  const yi = new Uint32Array(endY - start);
  for (let i = start; i < endX; i++) xi[i - start] = id(x[i]);
  for (let j = start; j < endY; j++) yi[j - start] = id(y[j]);
  return [xi, yi];
}

function middle(x, y, start, endX, endY) {
  const n = endX - start;
  const m = endY - start;
  const rows = [];
  if (n * m > MAX_CELLS) {
    for (let i = start; i < endX; i++) rows.push({ op: "-", text: x[i], a: i + 1, b: null });
    for (let j = start; j < endY; j++) rows.push({ op: "+", text: y[j], a: null, b: j + 1 });
    return rows;
  }
  const [xi, yi] = intern(x, y, start, endX, endY);
  // lcs[i][j] = length of the LCS of x[start+i..endX) and y[start+j..endY).
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = xi[i] === yi[j]
        ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && xi[i] === yi[j]) {
      rows.push({ op: " ", text: x[start + i], a: start + i + 1, b: start + j + 1 });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
      // Removals before additions where both keep the LCS, like the usual unified diff.
      rows.push({ op: "-", text: x[start + i], a: start + i + 1, b: null });
      i++;
    } else {
      rows.push({ op: "+", text: y[start + j], a: null, b: start + j + 1 });
      j++;
    }
  }
  return rows;
}

/** Counts of added and removed lines. */
export function diffStats(rows) {
  let added = 0;
  let removed = 0;
  for (const r of rows) {
    if (r.op === "+") added++;
    else if (r.op === "-") removed++;
  }
  return { added, removed };
}
