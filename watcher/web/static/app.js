/* The review page's behaviour: keys, decisions, undo. No inline script anywhere (the CSP forbids it);
   decisions are POSTed with htmx, which swaps the answered row in place of the old one. Every POST
   carries the CSRF token from <meta name="csrf-token">. */
(function () {
  "use strict";
  const token = () => document.querySelector('meta[name="csrf-token"]').content;
  document.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = token(); });

  const rows = () => Array.from(document.querySelectorAll("#queue article.item"));
  let current = null;       // id of the row the keys act on
  const selected = new Set();
  const undo = [];          // groups of {id, previous}: the last decision(s), newest last
  const note = (text) => { const n = document.getElementById("undo-note"); if (n) n.textContent = text; };

  function row(id) { return document.getElementById("item-" + id); }
  function mark() {
    for (const r of rows()) {
      r.classList.toggle("current", r.dataset.id === current);
      r.classList.toggle("selected", selected.has(r.dataset.id));
    }
  }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    let i = all.findIndex((r) => r.dataset.id === current);
    i = i < 0 ? 0 : Math.min(all.length - 1, Math.max(0, i + step));
    current = all[i].dataset.id;
    mark();
    all[i].scrollIntoView({ block: "nearest" });
  }
  function send(id, status) {
    return htmx.ajax("POST", "/items/" + id + "/decide",
                     { target: "#item-" + id, swap: "outerHTML", values: { status: status } })
      .then(() => mark());
  }
  function decide(ids, status) {
    const group = ids.filter((id) => row(id)).map((id) => ({ id: id, previous: row(id).dataset.status }));
    if (!group.length) return;
    undo.push(group);
    if (undo.length > 50) undo.shift();
    Promise.all(group.map((g) => send(g.id, status))).then(() => {
      note(status + ": " + group.map((g) => "#" + g.id).join(", ") + " (u undoes)");
    });
  }
  function decideAndMove(status) {
    // As in a mail client's triage: decide the current item, then go on to the next one.
    if (!current || !row(current)) return;
    decide([current], status);
    move(1);
  }
  function undoLast() {
    const group = undo.pop();
    if (!group) { note("nothing to undo"); return; }
    Promise.all(group.map((g) => send(g.id, g.previous === "-" ? "new" : g.previous))).then(() => {
      current = group[0].id;
      mark();
      note("undone: " + group.map((g) => "#" + g.id + " back to " + g.previous).join(", "));
    });
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-decide]");
    if (!button) return;
    const item = button.closest("article.item");
    current = item.dataset.id;
    decide([item.dataset.id], button.dataset.decide);
  });

  document.addEventListener("change", (e) => {
    // A filter takes effect at once; the form still has a button for browsers without this script.
    if (e.target.form && e.target.form.id === "filters" && e.target.tagName === "SELECT") e.target.form.submit();
  });

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.isContentEditable)) {
      if (e.key === "Escape") t.blur();
      return;
    }
    const keys = document.getElementById("keys");
    const act = {
      j: () => move(1),
      k: () => move(-1),
      a: () => decideAndMove("accepted"),
      r: () => decideAndMove("rejected"),
      l: () => decideAndMove("later"),
      u: () => undoLast(),
      z: () => undoLast(),
      o: () => {
        const a = current && row(current) && row(current).querySelector("a.link");
        if (a) window.open(a.href, "_blank", "noopener,noreferrer");
      },
      Enter: () => { if (current && row(current)) window.location.href = "/items/" + current; },
      x: () => {
        if (!current) return;
        if (selected.has(current)) selected.delete(current); else selected.add(current);
        mark();
      },
      A: () => { decide(Array.from(selected), "accepted"); selected.clear(); },
      R: () => { decide(Array.from(selected), "rejected"); selected.clear(); },
      "/": () => {
        const f = document.querySelector("#filters select, .try input");
        if (f) f.focus();
      },
      "?": () => { if (keys.open) keys.close(); else keys.showModal(); },
    }[e.key];
    if (act) {
      e.preventDefault();
      act();
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    // On an item's own page the one row is current, so a/r/l decide it straight away.
    const single = document.querySelector("#queue.single article.item");
    if (single) { current = single.dataset.id; mark(); }
  });
})();
