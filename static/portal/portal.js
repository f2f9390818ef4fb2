// Progressive enhancement only: with JavaScript, controls marked .js-hide (plain-HTML
// fallbacks such as the "show the fields of this topic" button) are hidden, and a
// select marked data-autosubmit (the language chooser) sends its form when changed.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });
});
