// fieldsync app: the little the pages need beyond HTML. Everything works without it (forms post,
// links open); with it, pages update live, the lead search filters as you type, and cards drag.
"use strict";

// Live updates: on a change, fetch this page again and swap in each [data-live] part, except a
// part holding the element being typed in, so nothing a person is typing is lost.
function refreshLiveParts() {
  fetch(location.href, { headers: { "x-fieldsync-fetch": "1" } })
    .then(function (response) { return response.ok ? response.text() : null; })
    .then(function (text) {
      if (text === null) { return; }
      var fresh = new DOMParser().parseFromString(text, "text/html");
      document.querySelectorAll("[data-live]").forEach(function (part) {
        var name = part.getAttribute("data-live");
        var replacement = fresh.querySelector('[data-live="' + name + '"]');
        if (replacement && !part.contains(document.activeElement)) {
          part.replaceWith(document.importNode(replacement, true));
        }
      });
      bindBoard();
    })
    .catch(function () { /* offline from our own server: the next event retries */ });
}

// One event stream per visible page. A browser holds at most six connections to one address
// over HTTP/1.1, so a hidden or left page gives its stream up (and catches up on return).
var events = null;
var pendingRefresh = null;

function refreshSoon() {
  if (pendingRefresh) { return; }
  pendingRefresh = setTimeout(function () { pendingRefresh = null; refreshLiveParts(); }, 50);
}

function connect() {
  if (events || !window.EventSource) { return; }
  events = new EventSource("/events");
  events.addEventListener("changed", refreshSoon);
  events.addEventListener("status", refreshSoon);
}

function disconnect() {
  if (events) { events.close(); events = null; }
}

function listen() {
  connect();
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { disconnect(); } else { connect(); refreshSoon(); }
  });
  window.addEventListener("pagehide", disconnect);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { connect(); refreshSoon(); }
  });
}

// Search as you type: ask for the results only, and keep the address in step.
function bindSearch() {
  var box = document.querySelector("input[data-search]");
  if (!box) { return; }
  var form = box.form;
  var timer = null;
  var asked = 0;
  function run() {
    var query = new URLSearchParams(new FormData(form));
    var number = ++asked;
    history.replaceState(null, "", "/leads?" + query.toString());
    query.set("partial", "1");
    fetch("/leads?" + query.toString())
      .then(function (response) { return response.text(); })
      .then(function (text) {
        if (number !== asked) { return; }
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("results");
        var results = document.getElementById("results");
        if (fresh && results) { results.replaceWith(document.importNode(fresh, true)); }
      });
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 80);
  });
  form.querySelectorAll("select").forEach(function (select) { select.addEventListener("change", run); });
}

function toast(text) {
  var note = document.createElement("p");
  note.className = "toast";
  note.setAttribute("role", "alert");
  note.textContent = text;
  document.body.appendChild(note);
  setTimeout(function () { note.remove(); }, 6000);
}

// Post a form to the app; a refusal comes back as one line, shown to the reader.
function post(address, fields) {
  var body = new URLSearchParams(fields);
  return fetch(address, {
    method: "POST",
    headers: { "x-fieldsync-fetch": "1", "content-type": "application/x-www-form-urlencoded" },
    body: body
  }).then(function (response) {
    if (response.ok || response.redirected) { refreshLiveParts(); return; }
    return response.text().then(toast);
  });
}

// The board: drag a card to another column to move the lead; the menu opens the actions dialog.
function bindBoard() {
  var board = document.querySelector(".board");
  if (!board || board.dataset.bound) { return; }
  board.dataset.bound = "1";
  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".card");
    if (!card) { return; }
    card.classList.add("dragging");
    event.dataTransfer.setData("text/plain", card.dataset.id);
    event.dataTransfer.effectAllowed = "move";
  });
  board.addEventListener("dragend", function (event) {
    var card = event.target.closest && event.target.closest(".card");
    if (card) { card.classList.remove("dragging"); }
  });
  board.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (column) { event.preventDefault(); column.classList.add("drop-target"); }
  });
  board.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (!column) { return; }
    event.preventDefault();
    column.classList.remove("drop-target");
    var id = event.dataTransfer.getData("text/plain");
    var card = board.querySelector('.card[data-id="' + id + '"]');
    if (!id || !card || card.dataset.stage === column.dataset.stage) { return; }
    column.querySelector(".cards").prepend(card);
    post("/lead/" + id + "/move", { stage: column.dataset.stage });
  });
  board.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".card-menu");
    if (!button) { return; }
    var dialog = document.getElementById("card-actions");
    dialog.querySelector("h2").textContent = button.dataset.company;
    dialog.querySelectorAll("form[data-verb]").forEach(function (form) {
      form.action = "/lead/" + button.dataset.id + "/" + form.dataset.verb;
      var back = form.querySelector('input[name="back"]');
      if (!back) {
        back = document.createElement("input");
        back.type = "hidden";
        back.name = "back";
        form.appendChild(back);
      }
      back.value = location.pathname + location.search;
    });
    dialog.showModal();
  });
}

document.addEventListener("DOMContentLoaded", function () {
  listen();
  bindSearch();
  bindBoard();
});
