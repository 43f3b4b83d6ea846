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
