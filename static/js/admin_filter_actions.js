/* Ticket filter actions in the admin: show only the fields the chosen action uses.
   The kind select carries the map (routing.admin.FilterActionForm): data-action-fields
   is {kind: [field, ...]}, data-action-all every field it may hide. The server clears
   the fields an action does not use, so a hidden stale value is never saved. */
(function () {
  "use strict";

  function update(select) {
    var used = JSON.parse(select.dataset.actionFields)[select.value] || [];
    var all = JSON.parse(select.dataset.actionAll);
    var form = select.closest(".inline-related") || select.closest("fieldset");
    if (!form) {
      return;
    }
    all.forEach(function (name) {
      form.querySelectorAll(".field-" + name).forEach(function (row) {
        row.style.display = used.indexOf(name) < 0 ? "none" : "";
      });
    });
  }

  function wire(root) {
    root.querySelectorAll("select[data-action-fields]").forEach(update);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-action-fields]")) {
      update(event.target);
    }
  });
  document.addEventListener("formset:added", function (event) {
    wire(event.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      wire(document);
    });
  } else {
    wire(document);
  }
})();
