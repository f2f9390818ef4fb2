/* Staff panel behaviour. Everything here is an enhancement: each page works without it. */
(function () {
  "use strict";

  // htmx: swap 4xx answers too (they carry the form with its errors), not 5xx.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
    htmx.config.historyCacheSize = 0;
  }

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // --- confirmations ------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // --- bulk actions: select all, show only the fields of the chosen action -------------------
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-check-all]")) {
      el.closest("form").querySelectorAll("input[name=tickets], input[name=tasks]").forEach(function (box) { box.checked = el.checked; });
    }
    if (el.matches("[data-bulk-action]")) showBulkFields(el);
    if (el.matches("select[data-canned-url]")) insertCanned(el);
  });
  function showBulkFields(select) {
    select.closest("fieldset").querySelectorAll("[data-for-action]").forEach(function (label) {
      label.hidden = label.dataset.forAction !== select.value;
    });
  }

  // --- canned responses: fetch the text for this ticket and add it to the reply -----------
  function insertCanned(select) {
    if (!select.value) return;
    fetch(select.dataset.cannedUrl + select.value + "/", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) {
        var area = select.form.querySelector("[data-reply-body]");
        if (window.panelEditor && window.panelEditor.insertText(area, text)) { select.value = ""; return; }
        area.value = (area.value.replace(/\s+$/, "") + (area.value.trim() ? "\n\n" : "") + text);
        area.dispatchEvent(new Event("input", { bubbles: true }));
        area.focus();
        select.value = "";
      });
  }

  // --- attachments by drag and drop, over the ordinary file input ---------------------------
  function listFiles(zone) {
    var input = zone.querySelector("input[type=file]");
    var list = zone.querySelector("[data-file-list]");
    list.innerHTML = "";
    Array.prototype.forEach.call(input.files, function (f) {
      var li = document.createElement("li");
      li.textContent = f.name + " (" + Math.ceil(f.size / 1024) + " KB)";
      list.appendChild(li);
    });
  }
  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) { event.preventDefault(); zone.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("over");
    var input = zone.querySelector("input[type=file]");
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (f) { all.items.add(f); });
    Array.prototype.forEach.call(event.dataTransfer.files, function (f) { all.items.add(f); });
    input.files = all.files;
    listFiles(zone);
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-dropzone] input[type=file]")) listFiles(event.target.closest("[data-dropzone]"));
  });

  // --- keyboard shortcuts -------------------------------------------------------------------
  var pendingG = false;
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function openAndFocus(panelId, selector) {
    var panel = document.getElementById(panelId);
    if (!panel) return false;
    panel.open = true;
    var field = panel.querySelector(selector);
    if (field && window.panelEditor && window.panelEditor.focus(field)) {
      field.form.querySelector(".ql-editor").scrollIntoView({ block: "center" });
    } else if (field) { field.focus(); field.scrollIntoView({ block: "center" }); }
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      var help = document.getElementById("shortcuts");
      if (help) help.hidden = true;
      return;
    }
    if (typing(event.target)) return;
    var ticket = document.getElementById("ticket");
    if (pendingG) {
      pendingG = false;
      if (event.key === "q" && ticket && ticket.dataset.queue) { window.location = ticket.dataset.queue; event.preventDefault(); }
      return;
    }
    switch (event.key) {
      case "/": event.preventDefault(); document.getElementById("quick-q").focus(); break;
      case "r": if (openAndFocus("reply-panel", "textarea[name=body]")) event.preventDefault(); break;
      case "n": if (openAndFocus("note-panel", "textarea[name=body]")) event.preventDefault(); break;
      case "j":
        if (ticket && ticket.dataset.next) { window.location = ticket.dataset.next; event.preventDefault(); }
        break;
      case "g": pendingG = true; break;
      case "?": var box = document.getElementById("shortcuts"); box.hidden = !box.hidden; break;
    }
  });

  // --- the ticket sidebar: dialogs and in-place property forms -------------------------------
  // A [data-dialog] link loads its form (htmx) into its <dialog> and opens it; a dialog that
  // comes back with a refused form (data-show) opens again. Cancel empties a property's form.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialog);
      if (dialog && dialog.showModal) {
        event.preventDefault();
        if (!dialog.open) dialog.showModal();
      }
      return;
    }
    var cancel = event.target.closest("[data-prop-cancel]");
    if (cancel && cancel.closest(".prop-form")) {
      event.preventDefault();
      var slot = cancel.closest(".prop-form");
      var edit = slot.parentNode.querySelector(".prop-edit");
      slot.innerHTML = "";
      if (edit) { edit.hidden = false; edit.focus(); }
    }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail.elt;
    if (el && el.classList && el.classList.contains("prop-edit") && !el.dataset.dialog) el.hidden = true;
  });
  function showDialogs(root) {
    root.querySelectorAll("dialog[data-show]").forEach(function (dialog) {
      if (!dialog.showModal) return;
      dialog.removeAttribute("data-show");
      if (dialog.open) dialog.close();
      dialog.showModal();
    });
  }

  // --- small things ---------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-toggle-nav], [data-print]");
    if (!el) return;
    if (el.hasAttribute("data-print")) { window.print(); return; }
    var nav = document.getElementById("sidebar");
    var open = nav.classList.toggle("open");
    el.setAttribute("aria-expanded", open ? "true" : "false");
  });
  // Leaving a ticket or a task gives its lock back at once (it would expire anyway).
  window.addEventListener("pagehide", function () {
    var ticket = document.getElementById("ticket");
    var task = document.getElementById("task");
    var status = document.getElementById(ticket ? "reply-draft-status" : "update-draft-status");
    if (!(ticket || task) || !status || !status.textContent.trim()) return;
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!token) return;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", token.value);
    var url = ticket ? "/scp/tickets/" + ticket.dataset.ticket + "/unlock/" : task.dataset.unlock;
    navigator.sendBeacon(url, data);
  });

  // --- the bulk bar shows only while tickets (or tasks) are selected -------------------------
  function updateBulkBar(form) {
    var bar = form.querySelector("[data-bulk-bar]");
    if (!bar) return;
    var n = form.querySelectorAll("input[name=tickets]:checked, input[name=tasks]:checked").length;
    bar.hidden = n === 0;
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form && event.target.matches("input[type=checkbox]")) updateBulkBar(form);
  });
  function refreshBulkBars() {
    document.querySelectorAll("[data-bulk-bar]").forEach(function (bar) { updateBulkBar(bar.closest("form")); });
  }

  // --- queue counts: refreshed after any htmx action that changed something ------------------
  // (the sidebar fragment also polls every minute: see staff/_queue_counts.html)
  // Draft autosaves and edit locks change no queue: they are left out.
  var QUIET = /\/(draft|lock|unlock)\//;
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail && event.detail.requestConfig;
    if (!event.detail.successful || !config || !config.verb || config.verb.toLowerCase() === "get") return;
    if (QUIET.test(config.path || "")) return;
    document.body.dispatchEvent(new CustomEvent("queues-changed", { bubbles: true }));
  });

  onReady(function () {
    document.querySelectorAll("[data-bulk-action]").forEach(showBulkFields);
    refreshBulkBars();
    showDialogs(document);
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-bulk-action]").forEach(showBulkFields);
    refreshBulkBars();
    showDialogs(document);
  });
})();
