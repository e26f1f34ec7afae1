/* The rep's queue from the keyboard, and a place kept across htmx refreshes.
 *
 * j / k move the focused row, a accepts it, c logs a call, r opens its reason picker,
 * Enter opens the lead, ? lists the keys. Keys do nothing while typing in a field.
 * The rows region (#queue-rows) is swapped by htmx every minute and after each action:
 * the same assignment keeps focus if it is still there (else the row now in its place),
 * the scroll position stays, and no poll runs while a reason picker is open.
 * A static file (the Content-Security-Policy allows no inline script, no eval). */
(function () {
  "use strict";

  var region = function () { return document.getElementById("queue-rows"); };
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr.queue-row")); };
  var currentId = null;
  var saved = null;

  function currentRow() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("#queue-rows tr.queue-row") : null;
    if (row) return row;
    return currentId ? document.getElementById("assignment-" + currentId) : null;
  }

  function focusRow(row) {
    if (!row) return;
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    currentId = row.dataset.assignmentId;
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    var next = index < 0 ? 0 : Math.min(all.length - 1, Math.max(0, index + step));
    focusRow(all[next]);
  }

  function say(text, isError) {
    var status = document.getElementById("queue-status");
    if (!status) return;
    var line = document.createElement("p");
    line.className = "queue-message" + (isError ? " is-error" : "");
    line.textContent = (isError ? "⚠ " : "") + text;
    status.replaceChildren(line);
  }

  function isTyping(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, select, textarea, [contenteditable=''], [contenteditable=true]"));
  }

  function openKeys() {
    var dialog = document.getElementById("queue-keys");
    if (dialog && !dialog.open) {
      dialog.returnTo = document.activeElement;
      dialog.showModal();
    }
  }

  function closePicker(picker) {
    picker.open = false;
    var row = picker.closest("tr.queue-row");
    if (row) focusRow(row);
  }

  function act(key, row) {
    if (key === "a") {
      var accept = row.querySelector("[data-action=accept]");
      if (accept) accept.click(); else say("Already accepted: nothing to accept here.", false);
    } else if (key === "c") {
      var call = row.querySelector("[data-action=call]");
      if (call) call.click();
    } else if (key === "r") {
      var picker = row.querySelector("details.reject-picker");
      if (!picker) return;
      picker.open = true;
      var select = picker.querySelector("select");
      if (select) select.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var dialog = document.getElementById("queue-keys");
    if (dialog && dialog.open) return; // the dialog closes itself on Escape
    if (event.key === "Escape") {
      var picker = event.target.closest && event.target.closest("details.reject-picker[open]");
      picker = picker || document.querySelector("#queue-rows details.reject-picker[open]");
      if (picker) { event.preventDefault(); closePicker(picker); }
      return;
    }
    if (isTyping(event.target)) return;
    var key = event.key;
    if (key === "?") { event.preventDefault(); openKeys(); return; }
    if (key === "j" || key === "k") { event.preventDefault(); move(key === "j" ? 1 : -1); return; }
    if (key === "Enter") {
      var active = document.activeElement;
      if (active && active.matches && active.matches("tr.queue-row")) {
        event.preventDefault();
        var link = active.querySelector("a.lead-link");
        if (link) window.location.assign(link.href);
      }
      return;
    }
    if (key === "a" || key === "c" || key === "r") {
      var row = currentRow() || rows()[0];
      if (!row) return;
      event.preventDefault();
      if (document.activeElement !== row && !row.contains(document.activeElement)) focusRow(row);
      act(key, row);
    }
  });

  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("#queue-rows tr.queue-row");
    if (row) currentId = row.dataset.assignmentId;
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#queue-keys-open")) openKeys();
  });

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.id !== "queue-keys" || !dialog.returnTo || !dialog.returnTo.focus) return;
    // "close" comes a task after Escape: keys pressed since (k, then r) may have moved focus on; keep it there.
    var active = document.activeElement;
    if (active && active !== document.body && !dialog.contains(active)) return;
    dialog.returnTo.focus({ preventScroll: true });
  }, true);

  // A minute's poll waits while the rep is choosing a reason.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var rowsRegion = region();
    if (!rowsRegion || event.detail.elt !== rowsRegion) return;
    if (rowsRegion.querySelector("details.reject-picker[open]")) event.preventDefault();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var rowsRegion = region();
    if (!rowsRegion || event.detail.target !== rowsRegion) return;
    // A refusal (400 reject without a reason, 403) still carries the rows and says why.
    var status = event.detail.xhr.status;
    if (status === 400 || status === 403) { event.detail.shouldSwap = true; event.detail.isError = false; }
    var row = currentRow();
    var active = document.activeElement;
    saved = {
      scrollY: window.scrollY,
      id: row ? row.dataset.assignmentId : null,
      index: row ? rows().indexOf(row) : -1,
      hadFocus: Boolean(active && (rowsRegion.contains(active) || active === document.body)) && row !== null,
    };
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var rowsRegion = region();
    if (!rowsRegion || event.detail.target !== rowsRegion || !saved) return;
    var place = saved;
    saved = null;
    var row = place.id ? document.getElementById("assignment-" + place.id) : null;
    var all = rows();
    if (!row && place.index >= 0 && all.length) row = all[Math.min(place.index, all.length - 1)];
    if (row) currentId = row.dataset.assignmentId;
    if (row && place.hadFocus) row.focus({ preventScroll: true });
    window.scrollTo(window.scrollX, place.scrollY);
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 404) say("That lead is no longer in your queue.", true);
    else if (status >= 500) say("Something went wrong on our side; nothing was changed. Try again.", true);
  });

  document.addEventListener("htmx:sendError", function () {
    say("No connection: the queue will refresh when it is back.", true);
  });
})();
