// shadowload console: live sections reload from their server-side
// fragment on each server-sent event; the MQTT test client drives its
// connection through the console's JSON endpoints.
"use strict";

function liveSections() {
  document.querySelectorAll("[data-live]").forEach(function (sec) {
    var pending = false;
    var refreshes = 0;
    function refresh() {
      if (pending) { return; }
      pending = true;
      setTimeout(function () {
        fetch(sec.dataset.live, { cache: "no-store" }).then(function (r) {
          return r.ok ? r.text() : Promise.reject(r.status);
        }).then(function (html) {
          sec.innerHTML = html;
          refreshes++;
          sec.dataset.refreshes = String(refreshes);
        }).catch(function () {}).finally(function () { pending = false; });
      }, 50);
    }
    var es = new EventSource(sec.dataset.events);
    // Events that came between the page's rendering and the stream's
    // opening (or while it reconnected) are caught up with one reload.
    es.onopen = function () { sec.dataset.stream = "open"; refresh(); };
    es.onerror = function () { sec.dataset.stream = "retrying"; };
    ["presence", "shadow", "lost"].forEach(function (k) { es.addEventListener(k, refresh); });
  });
}

function form(el) {
  return new URLSearchParams(new FormData(el));
}

function testClient() {
  var root = document.getElementById("tc");
  if (!root) { return; }
  var connectForm = document.getElementById("tc-connect");
  var subForm = document.getElementById("tc-subscribe");
  var pubForm = document.getElementById("tc-publish");
  var status = document.getElementById("tc-status");
  var log = document.getElementById("tc-log");
  var list = document.getElementById("tc-messages");
  var count = document.getElementById("tc-count");
  var disc = document.getElementById("tc-disconnect");
  var session = null;
  var es = null;
  var received = 0;
  var maxShown = 500;

  function note(text, bad) {
    var li = document.createElement("li");
    li.textContent = new Date().toISOString() + " " + text;
    if (bad) { li.className = "bad"; }
    log.insertBefore(li, log.firstChild);
    while (log.children.length > 50) { log.removeChild(log.lastChild); }
  }
  function setConnected(on) {
    subForm.querySelector("button").disabled = !on;
    pubForm.querySelector("button").disabled = !on;
    disc.disabled = !on;
  }
  function post(path, body) {
    return fetch(path, { method: "POST", body: body }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.error || ("HTTP " + r.status)); }
        return j;
      });
    });
  }
  connectForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (es) { es.close(); es = null; }
    status.dataset.state = "connecting";
    status.textContent = "Connecting…";
    post("/test-client/sessions", form(connectForm)).then(function (j) {
      session = j.id;
      es = new EventSource("/test-client/sessions/" + session + "/events");
      es.addEventListener("status", function (e) {
        var s = JSON.parse(e.data);
        status.dataset.state = s.state;
        status.textContent = s.state + ": " + s.detail;
        setConnected(s.state === "connected");
        if (s.state !== "connected") { es.close(); es = null; }
      });
      es.addEventListener("message", function (e) {
        var m = JSON.parse(e.data);
        received++;
        count.textContent = String(received);
        var li = document.createElement("li");
        var head = document.createElement("div");
        head.className = "msg-head";
        var topic = document.createElement("span");
        topic.className = "topic";
        topic.textContent = m.topic;
        var meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = m.time + " · QoS " + m.qos + (m.retain ? " · retained" : "") + (m.base64 ? " · base64" : "");
        head.appendChild(topic);
        head.appendChild(meta);
        var pre = document.createElement("pre");
        pre.className = "payload";
        var text = m.payload;
        if (!m.base64) {
          try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* not JSON: as it is */ }
        }
        pre.textContent = text;
        li.appendChild(head);
        li.appendChild(pre);
        list.insertBefore(li, list.firstChild);
        while (list.children.length > maxShown) { list.removeChild(list.lastChild); }
      });
    }).catch(function (err) {
      status.dataset.state = "failed";
      status.textContent = err.message;
      note(err.message, true);
    });
  });
  disc.addEventListener("click", function () {
    if (session) { post("/test-client/sessions/" + session + "/close", new URLSearchParams()).catch(function () {}); }
  });
  subForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    post("/test-client/sessions/" + session + "/subscribe", form(subForm)).then(function (j) {
      note("subscribed to " + j.subscribed);
    }).catch(function (err) { note(err.message, true); });
  });
  pubForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    post("/test-client/sessions/" + session + "/publish", form(pubForm)).then(function (j) {
      note("published to " + j.published);
    }).catch(function (err) { note(err.message, true); });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  liveSections();
  testClient();
});
