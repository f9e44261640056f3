// shadowload run dashboard: each server-sent "state" event carries the
// whole page state; charts are the HTML report's SVGs, as data URLs.
"use strict";

function fmtSeconds(s) {
  if (!(s > 0)) { return "0s"; }
  var m = Math.floor(s / 60);
  var r = Math.round(s - m * 60);
  return m > 0 ? m + "m" + (r < 10 ? "0" : "") + r + "s" : r + "s";
}

function setText(id, text) { document.getElementById(id).textContent = text; }

function rows(tbody, list, cells) {
  while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
  list.forEach(function (item) {
    var tr = document.createElement("tr");
    cells(item).forEach(function (c) {
      var td = document.createElement("td");
      td.textContent = c.text;
      if (c.cls) { td.className = c.cls; }
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  });
}

function render(st) {
  setText("title", st.title || "");
  setText("phase", st.phase);
  setText("elapsed", fmtSeconds(st.elapsed));
  setText("planned", st.planned > 0 ? fmtSeconds(st.planned) : "-");
  setText("connected", String(st.connected));
  setText("things", String(st.things));
  setText("rate", st.targetRate > 0 ? Math.round(st.targetRate) + "/s" : "-");
  var prog = document.getElementById("progress");
  prog.value = st.done ? 1 : (st.planned > 0 ? Math.min(st.elapsed / st.planned, 1) : 0);
  rows(document.querySelector("#thresholds tbody"), st.thresholds || [], function (t) {
    return [{ text: t.metric }, { text: t.expr }, { text: t.state, cls: "th-" + t.state.replace(" ", "-") }, { text: t.actual }];
  });
  rows(document.querySelector("#counters tbody"), st.counters || [], function (c) {
    return [{ text: c[0] }, { text: String(c[1]) }];
  });
  // A state without charts (they are redrawn less often in a long run)
  // leaves the charts shown as they are.
  var charts = document.getElementById("charts");
  (st.charts || []).forEach(function (c) {
    var fig = document.getElementById("chart-" + c.id);
    if (!fig) {
      fig = document.createElement("figure");
      fig.id = "chart-" + c.id;
      var img = document.createElement("img");
      img.alt = c.title;
      var cap = document.createElement("figcaption");
      cap.textContent = c.title;
      fig.appendChild(img);
      fig.appendChild(cap);
      charts.appendChild(fig);
    }
    var im = fig.querySelector("img");
    var src = "data:image/svg+xml;base64," + c.svg;
    if (im.src !== src) {
      im.src = src;
      fig.dataset.updates = String(Number(fig.dataset.updates || "0") + 1);
    }
  });
  charts.dataset.updates = String(st.updates);
  var v = document.getElementById("verdict");
  if (st.done) {
    v.hidden = false;
    v.textContent = st.verdict || "ended";
    v.className = "verdict verdict-" + (st.verdict || "none");
    document.getElementById("downloads").hidden = false;
    document.body.dataset.done = "true";
  }
  var inv = document.getElementById("invalid");
  if (st.invalid && st.invalid.length) {
    inv.hidden = false;
    inv.textContent = "Invalid run: " + st.invalid.join("; ");
  }
}

document.addEventListener("DOMContentLoaded", function () {
  var es = new EventSource("/events");
  es.onopen = function () { document.body.dataset.stream = "open"; };
  es.addEventListener("state", function (e) {
    var st = JSON.parse(e.data);
    render(st);
    if (st.done) { es.close(); }
  });
});
