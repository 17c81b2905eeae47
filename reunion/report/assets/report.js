(function () {
"use strict";
var DATA = JSON.parse(document.getElementById("review-data").textContent);
var table = document.getElementById("overview");
var tbody = table.tBodies[0];
var rows = Array.prototype.slice.call(tbody.rows);
var heads = Array.prototype.slice.call(table.tHead.rows[0].cells).filter(function (h) { return h.dataset.key; });
var qBox = document.getElementById("q"), catSel = document.getElementById("cat");
var shown = document.getElementById("shown"), detail = document.getElementById("detail");
var listView = document.getElementById("list-view"), detailView = document.getElementById("detail-view");
var KEYS = ["sort", "q", "cat", "open", "family"];
var state = {sort: "lr-desc", q: "", cat: "", open: "", family: ""};
var SVGNS = "http://www.w3.org/2000/svg";

function h(tag, attrs) {
  var e = document.createElement(tag);
  setAttrs(e, attrs);
  for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
  return e;
}
function s(tag, attrs) {
  var e = document.createElementNS(SVGNS, tag);
  setAttrs(e, attrs);
  for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
  return e;
}
function setAttrs(e, attrs) {
  if (!attrs) return;
  Object.keys(attrs).forEach(function (k) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) return;
    e.setAttribute(k, v === true ? "" : String(v));
  });
}
function add(e, k) {
  if (k === null || k === undefined || k === false) return;
  if (Array.isArray(k)) { k.forEach(function (x) { add(e, x); }); return; }
  e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
}
function num(x) { return x === "inf" ? Infinity : x === "-inf" ? -Infinity : x; }
function fmtLog(x) { x = num(x); return x === -Infinity ? "\u2212\u221e" : x === Infinity ? "\u221e" : x.toFixed(2); }
function fmtLR(x) {
  x = num(x);
  if (x === -Infinity) return "0";
  if (x === Infinity) return "\u221e";
  var v = Math.pow(10, x);
  if (x >= -2 && x < 6) return x >= 3 ? Math.round(v).toLocaleString("en-US") : String(Number(v.toPrecision(3)));
  var e = Math.floor(x), m = Math.pow(10, x - e);
  if (m >= 9.995) { m = 1; e += 1; }
  var sup = String(e).replace(/[-0-9]/g, function (c) { return "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079".charAt("-0123456789".indexOf(c)); });
  return m.toFixed(2) + " \u00d7 10" + sup;
}

function readParams() {
  var p = {};
  [location.search.replace(/^\?/, ""), location.hash.replace(/^#/, "")].forEach(function (src) {
    new URLSearchParams(src).forEach(function (v, k) { if (KEYS.indexOf(k) >= 0) p[k] = v; });
  });
  return p;
}
function writeHash() {
  var p = new URLSearchParams();
  KEYS.forEach(function (k) { if (state[k] && !(k === "sort" && state[k] === "lr-desc")) p.set(k, state[k]); });
  var str = p.toString();
  try { history.replaceState(null, "", str ? "#" + str : location.pathname + location.search); }
  catch (e) { /* some file:// contexts refuse; the view still works */ }
}

function applySort() {
  var parts = state.sort.split("-"), key = parts[0], dir = parts[1] === "asc" ? "asc" : "desc";
  var th = heads.filter(function (x) { return x.dataset.key === key; })[0];
  if (!th) { key = "lr"; dir = "desc"; th = heads.filter(function (x) { return x.dataset.key === "lr"; })[0]; }
  state.sort = key + "-" + dir;
  var col = th.cellIndex, isNum = th.dataset.type === "num", sign = dir === "asc" ? 1 : -1;
  var keyed = rows.map(function (r, i) {
    var c = r.cells[col], v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
    return [isNum ? parseFloat(v) : v.toLowerCase(), i, r];
  });
  keyed.sort(function (a, b) { return ((a[0] < b[0]) ? -1 : (a[0] > b[0]) ? 1 : 0) * sign || a[1] - b[1]; });
  keyed.forEach(function (k) { tbody.appendChild(k[2]); });
  heads.forEach(function (x) { x.setAttribute("aria-sort", x === th ? (dir === "asc" ? "ascending" : "descending") : "none"); });
}
function applyFilter() {
  var q = state.q.trim().toLowerCase(), n = 0;
  rows.forEach(function (r) {
    var ok = (!q || r.dataset.text.indexOf(q) >= 0) && (!state.cat || r.dataset.cat === state.cat);
    r.hidden = !ok;
    if (ok) n++;
  });
  shown.textContent = n.toLocaleString("en-US");
}

function barPlot(L) {
  var pts = L.filter(function (r) { return r[6] & 1; });
  if (!pts.length) return null;
  var vals = pts.map(function (r) { return num(r[5]); });
  var fin = vals.filter(isFinite);
  var hi = Math.max(1, Math.ceil(Math.max.apply(null, fin.concat([0]))));
  var lo = Math.min(0, Math.floor(Math.min.apply(null, fin.concat([0]))));
  if (vals.some(function (v) { return v === -Infinity; })) lo = Math.min(lo, -2);
  var bw = 22, ml = 40, mt = 10, ph = 150, mb = 70, W = ml + pts.length * bw + 10, H = mt + ph + mb;
  function y(v) { return mt + (hi - Math.max(lo, Math.min(hi, v))) / (hi - lo) * ph; }
  var svg = s("svg", {"class": "bars", width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img",
                      "aria-label": "per-locus log10 LR"});
  for (var t = lo; t <= hi; t++) {
    add(svg, s("line", {x1: ml, x2: W - 10, y1: y(t), y2: y(t), "class": t === 0 ? "axis" : "grid"}));
    add(svg, s("text", {x: ml - 5, y: y(t) + 4, "text-anchor": "end"}, String(t)));
  }
  pts.forEach(function (r, i) {
    var v = vals[i], x = ml + i * bw + 3, y0 = y(0), y1 = y(v === -Infinity ? lo : v);
    var color = (r[6] & 2) ? "#cf222e" : v < 0 ? "#e5534b" : (r[6] & 4) ? "#d4901c" : "#0969da";
    add(svg, s("rect", {x: x, y: Math.min(y0, y1), width: bw - 6, height: Math.max(1, Math.abs(y1 - y0)), fill: color},
               s("title", null, DATA.loci[r[0]] + ": log10 LR " + fmtLog(v))));
    if (v === -Infinity) add(svg, s("text", {x: x + (bw - 6) / 2, y: y(lo) + 12, "text-anchor": "middle"}, "\u2212\u221e"));
    var lx = x + (bw - 6) / 2, ly = mt + ph + 8;
    add(svg, s("text", {x: lx, y: ly, "text-anchor": "end", transform: "rotate(-60 " + lx + " " + ly + ")"}, DATA.loci[r[0]]));
  });
  add(svg, s("text", {x: 12, y: mt + ph / 2, "text-anchor": "middle", "class": "axis-label",
                      transform: "rotate(-90 12 " + (mt + ph / 2) + ")"}, "log10 LR"));
  return svg;
}

function freqText(locus, gt) {
  if (!DATA.freq || !gt) return "";
  var f = DATA.freq[locus] || {};
  var seen = {};
  return gt.split("/").filter(function (a) { if (seen[a]) return false; seen[a] = 1; return true; }).map(function (a) {
    var x = f[a];
    return x ? a + ": " + x[0].toFixed(4) + (x[1] ? " (floor)" : "") : a + ": ?";
  }).join(", ");
}

function locusTable(mid, c) {
  var roles = {};
  c.mem.forEach(function (m) { roles[m[0]] = m[1]; });
  var rel = c.hyp.indexOf("pair_") === 0 ? c.hyp.slice(5).replace("_", " ") : "";
  // [head, index into the L rows, sample id]: the page's own (every member, c.cols) or father / mother / other
  var cols = c.cols || [["father", 2], ["mother", 3], ["other", 4]].filter(function (x) { return roles[x[0]] !== undefined; }).map(function (x) {
    return [x[0] === "other" ? "Relative (" + rel + ")" : x[0][0].toUpperCase() + x[0].slice(1), x[1], roles[x[0]]]; });
  var head = h("tr", null, h("th", null, "Locus"), h("th", null, "Missing person", h("br"), h("span", {"class": "muted small"}, mid)),
    cols.map(function (x) { return h("th", null, x[0], h("br"), h("span", {"class": "muted small"}, x[2])); }),
    DATA.freq ? h("th", null, "Allele frequencies", h("br"), h("span", {"class": "muted small"}, "missing person's alleles")) : null,
    h("th", {"class": "r"}, "LR"), h("th", {"class": "r"}, "log10 LR"), h("th", null, "Flags"));
  var body = c.L.map(function (r) {
    var locus = DATA.loci[r[0]], comp = r[6] & 1, inc = r[6] & 2, flo = r[6] & 4;
    return h("tr", {"class": inc ? "inconsistent" : comp ? null : "untyped", "data-locus": locus},
      h("td", null, locus), h("td", null, r[1] || "\u2014"),
      cols.map(function (x) { return h("td", null, r[x[1]] || "\u2014"); }),
      DATA.freq ? h("td", {"class": "small"}, freqText(locus, r[1])) : null,
      h("td", {"class": "r"}, comp ? fmtLR(r[5]) : ""), h("td", {"class": "r"}, comp ? fmtLog(r[5]) : ""),
      h("td", null, inc ? h("span", {"class": "flag inc"}, "inconsistent") : null,
        flo ? h("span", {"class": "flag floor"}, "rare-allele floor") : null,
        comp ? null : h("span", {"class": "flag nc"}, "not compared")));
  });
  var foot = h("tr", null, h("th", {colspan: 2 + cols.length + (DATA.freq ? 1 : 0)},
      "Combined over " + c.lc + " compared loci (" + c.inc + " inconsistent)"),
    h("th", {"class": "r"}, c.lr), h("th", {"class": "r"}, fmtLog(c.l)), h("th"));
  return h("table", {"class": "grid loci"}, h("thead", null, head), h("tbody", null, body), h("tfoot", null, foot));
}

function candBlock(mid, c, open) {
  var duo = [];
  if (c.df !== null && c.hyp === "trio") duo.push("father alone: log10 LR " + fmtLog(c.df));
  if (c.dm !== null && c.hyp === "trio") duo.push("mother alone: log10 LR " + fmtLog(c.dm));
  return h("details", {"class": "cand", id: "cand-" + c.r, "data-family": c.f, "data-rank": c.r, open: open},
    h("summary", null, "#" + c.r + " family " + c.f + " \u2014 LR " + c.lr + " \u2014 ", h("span", {"class": "cat cat-" + c.cat}, c.cat)),
    h("div", {"class": "hyp"}, h("b", null, "H1"), c.h1),
    h("div", {"class": "hyp"}, h("b", null, "H2"), c.h2),
    h("p", null, "LR = P(genotypes | H1) / P(genotypes | H2) = ", h("strong", null, c.lr),
      " (log10 " + fmtLog(c.l) + "); posterior " + c.post + " at " + DATA.prior + (c.post2 ? " (" + c.post2 + ")" : "") + "; rival ratio " + c.rv +
      (duo.length ? "; " + duo.join(", ") : "") + "."),
    c.cw ? h("p", null, "Chance matches: " + c.cw + "." + (c.p1 !== null ? " A true lost child of this family scores at most this LR with probability " + c.p1 + "." : "")) : null,
    h("p", {"class": "muted"}, DATA.whys[c.why] + "."),
    c.L && c.L.length ? [h("div", {"class": "plot"}, barPlot(c.L)),
           h("p", {"class": "legend small muted"}, "Bars: log10 LR per compared locus. ",
             [["#0969da", "supports H1"], ["#e5534b", "supports H2"], ["#cf222e", "inconsistent locus"],
              ["#d4901c", "rare-allele floor used"]].map(function (x) {
               return h("span", {"class": "key"}, h("i", {style: "background:" + x[0]}), x[1]); })),
           locusTable(mid, c),
           DATA.freq ? null : h("p", {"class": "muted small"}, "Allele frequencies not shown: " + DATA.freq_note + ".")]
        : h("p", {"class": "warn"}, "No per-locus rows for this candidate in per_locus.parquet."));
}

function hashFor(changes) {
  var p = new URLSearchParams();
  KEYS.forEach(function (k) {
    var v = changes.hasOwnProperty(k) ? changes[k] : state[k];
    if (v && !(k === "sort" && v === "lr-desc")) p.set(k, v);
  });
  return "#" + p.toString();
}
function visibleIds() {
  return Array.prototype.filter.call(tbody.rows, function (r) { return !r.hidden; }).map(function (r) { return r.dataset.id; });
}

function renderDetail() {
  rows.forEach(function (r) { r.classList.toggle("current", r.dataset.id === state.open); });
  detail.textContent = "";
  listView.hidden = !!state.open;
  detailView.hidden = !state.open;
  if (!state.open) return;
  var ids = visibleIds(), at = ids.indexOf(state.open);
  var nav = h("nav", {"class": "detail-nav"},
    h("a", {href: hashFor({open: "", family: ""}), id: "back"}, "\u2190 back to the list"),
    at > 0 ? h("a", {href: hashFor({open: ids[at - 1], family: ""}), id: "prev"}, "\u2191 previous: " + ids[at - 1]) : null,
    at >= 0 && at + 1 < ids.length ? h("a", {href: hashFor({open: ids[at + 1], family: ""}), id: "next"}, "\u2193 next: " + ids[at + 1]) : null,
    at >= 0 ? h("span", {"class": "muted"}, (at + 1) + " of " + ids.length + " in the list as sorted and filtered") : null);
  add(detail, nav);
  var cs = DATA.m[state.open];
  if (!cs) { add(detail, h("p", {"class": "warn"}, "No candidates for " + state.open + " in this run.")); return; }
  var want = state.family || cs[0].f;
  add(detail, h("h2", {id: "detail-title"}, "Missing person " + state.open + " \u2014 " + cs.length + " candidate" + (cs.length > 1 ? "s" : "")));
  add(detail, h("table", {"class": "grid cands"},
    h("thead", null, h("tr", null, ["Rank", "Family", "Hypothesis", "Members", "LR", "log10 LR", "Rival ratio", "Category", "Posterior", "Loci", "Inconsistent", "Floored alleles"].map(function (t) { return h("th", null, t); }))),
    h("tbody", null, cs.map(function (c) {
      return h("tr", {"data-family": c.f, "class": c.f === want ? "current" : null}, h("td", null, c.r),
        h("td", null, c.L ? h("a", {href: hashFor({family: c.f})}, c.f) : c.f), h("td", null, c.hyp),
        h("td", null, c.mem.map(function (m) { return m[0] + ": " + m[1]; }).join(", ")),
        h("td", {"class": "r"}, c.lr), h("td", {"class": "r"}, fmtLog(c.l)), h("td", {"class": "r"}, c.rv),
        h("td", null, h("span", {"class": "cat cat-" + c.cat, title: DATA.whys[c.why]}, c.cat)), h("td", {"class": "r"}, c.post),
        h("td", {"class": "r"}, c.lc), h("td", {"class": "r" + (c.inc ? " bad" : "")}, c.inc), h("td", {"class": "r"}, c.flo));
    }))));
  add(detail, h("p", {"class": "muted small"}, "Rival ratio: LR of this candidate / LR of the next-ranked one (\u201cno rival\u201d: no other family reached the list). Per-locus evidence below for ranks 1 to " + DATA.ranks + "."));
  cs.forEach(function (c) { if (c.L) add(detail, candBlock(state.open, c, c.f === want)); });
  var target = state.family && state.family !== cs[0].f ? detail.querySelector("details[open]") : null;
  if (target && target.scrollIntoView) target.scrollIntoView({block: "start"}); else window.scrollTo(0, 0);
}

function apply(p) {
  KEYS.forEach(function (k) { state[k] = p[k] || (k === "sort" ? "lr-desc" : ""); });
  qBox.value = state.q;
  catSel.value = state.cat;
  if (catSel.value !== state.cat) { state.cat = ""; catSel.value = ""; }
  applySort(); applyFilter(); renderDetail();
}

heads.forEach(function (th) {
  th.addEventListener("click", function () {
    var parts = state.sort.split("-");
    var dir = parts[0] === th.dataset.key ? (parts[1] === "asc" ? "desc" : "asc") : (th.dataset.type === "num" ? "desc" : "asc");
    state.sort = th.dataset.key + "-" + dir; applySort(); writeHash();
  });
});
qBox.addEventListener("input", function () { state.q = qBox.value; applyFilter(); writeHash(); });
catSel.addEventListener("change", function () { state.cat = catSel.value; applyFilter(); writeHash(); });
document.addEventListener("click", function (ev) {
  var el = ev.target.closest ? ev.target.closest("a[data-open], #overview tbody tr") : null;
  if (!el) return;
  var id = el.dataset.open || el.dataset.id;
  if (!id) return;
  ev.preventDefault();
  lastScroll = window.scrollY;
  location.hash = hashFor({open: id, family: ""});
});
var lastScroll = 0;
window.addEventListener("hashchange", function () {
  var wasOpen = !!state.open;
  apply(readParams());
  if (wasOpen && !state.open) window.scrollTo(0, lastScroll);
});
DATA.prior = document.body.dataset.prior;
apply(readParams());
})();
