// Upload progress for forms marked data-progress="<progress element id>", from htmx's XHR progress events.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest ? event.target.closest("form[data-progress]") : null;
  if (!form || !event.detail.lengthComputable) return;
  var bar = document.getElementById(form.dataset.progress);
  if (!bar) return;
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  bar.setAttribute("aria-valuetext", bar.value + "% uploaded");
});
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.target.closest ? event.target.closest("form[data-progress]") : null;
  if (!form) return;
  var bar = document.getElementById(form.dataset.progress);
  if (bar) { bar.hidden = true; bar.value = 0; }
  if (event.detail.successful) form.reset();
});
// A list that polls (data-poll-waits-while-editing) is not refreshed while the user is in one of its forms: the
// swap would take away a comment being typed. A listener rather than an hx-trigger filter ("every 5s [...]"):
// htmx compiles filters with Function(), which the console's Content-Security-Policy refuses.
document.addEventListener("htmx:beforeRequest", function (event) {
  var list = event.detail.elt;
  if (!list.hasAttribute || !list.hasAttribute("data-poll-waits-while-editing")) return;
  var active = document.activeElement;
  var form = active && active.closest ? active.closest("form") : null;
  if (form && list.contains(form)) event.preventDefault();
});
// An action that cannot be undone (leaving or removing a member, rejecting, rolling back) asks first: its button
// (or form) says data-confirm="<question>". A listener rather than an inline onsubmit, which the console's
// Content-Security-Policy refuses; on the capturing phase, so that it runs before htmx sends a form.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
