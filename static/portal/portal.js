// Progressive enhancement only: with JavaScript, controls marked .js-hide (plain-HTML
// fallbacks such as the "show the fields of this topic" button) are hidden.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
});
