// Study recorded by the server (issue 18). The unit page (#unit, data-* attributes) tells the
// server it was opened; a text or PDF unit reports when its end comes into view; a video or
// audio reports where it is playing every few seconds and when it pauses or ends. The server
// decides what counts (no more than real time, no jumps ahead); this script only reports.
(function () {
  "use strict";
  function token() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (err) {
      return "";
    }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token() },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.status === 204 ? {} : r.json().then(function (data) { data._status = r.status; return data; });
    });
  }

  function show(unit, data) {
    if (!data || data.unit_percent === undefined) {
      if (data && data.detail) message(data.detail);
      return;
    }
    var bar = document.querySelector("#unit-progress");
    if (bar) {
      bar.setAttribute("aria-valuenow", String(data.unit_percent));
      bar.firstElementChild.style.width = data.unit_percent + "%";
    }
    var status = document.querySelector("#unit-status");
    if (status) status.textContent = data.unit_completed ? "已完成" : "学习进度 " + data.unit_percent + "%";
    if (data.frontier !== null && data.frontier !== undefined) unit.dataset.frontier = String(data.frontier);
    if (data.message) message(data.message);
    else if (data.unit_completed) clearMessage();  // an earlier "skipped" warning no longer applies
  }

  function clearMessage() {
    var box = document.querySelector("#study-message");
    if (box) box.hidden = true;
  }

  function message(text) {
    var box = document.querySelector("#study-message");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function start() {
    var unit = document.querySelector("#unit");
    if (!unit || unit.dataset.study !== "on") return;
    var base = "/api/v1/courses/" + encodeURIComponent(unit.dataset.course) + "/units/" + unit.dataset.unit;
    var opened = post(base + "/opened");
    var kind = unit.dataset.kind;
    if (kind === "text" || kind === "document") {
      var end = document.querySelector("#unit-end");
      var sent = false;
      var observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting && !sent) {
            sent = true;
            observer.disconnect();
            opened.then(function () { return post(base + "/end"); }).then(function (d) { show(unit, d); });
          }
        });
      });
      observer.observe(end);
      return;
    }
    var player = document.querySelector("#player");
    if (!player) return;
    var every = Math.max(2, parseFloat(unit.dataset.interval) || 10) * 1000;
    var timer = null;
    // one report at a time, in order: the server compares each with the one before
    var queue = opened;
    var report = function () {
      var position = player.currentTime;
      queue = queue
        .then(function () { return post(base + "/position", { position: position }); })
        .then(function (d) { show(unit, d); })
        .catch(function () { message("学习记录暂时无法保存，请检查网络后继续播放。"); });
      return queue;
    };
    player.addEventListener("play", function () {
      report();
      if (!timer) timer = window.setInterval(report, every);
    });
    var stop = function () {
      if (timer) window.clearInterval(timer);
      timer = null;
      report();
    };
    player.addEventListener("pause", stop);
    player.addEventListener("ended", stop);
    player.addEventListener("seeked", function () {
      var frontier = parseFloat(unit.dataset.frontier) || 0;
      if (player.currentTime > frontier + 2) message("跳过的部分不计入学习进度。");
      report(); // the server learns where playing goes on from
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
