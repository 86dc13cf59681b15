// renewd pages: a little progressive enhancement. Everything works without it.
(function () {
  'use strict';
  // Announce and show the result of the last action.
  var flash = document.getElementById('flash');
  if (flash) {
    flash.focus({ preventScroll: false });
  } else if (location.hash) {
    var target = document.getElementById(location.hash.slice(1));
    if (target && target.tagName === 'DETAILS') target.open = true;
  }
  // Open the <details> that holds an invalid field after a failed submit.
  var invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) {
    var d = invalid.closest('details');
    if (d) d.open = true;
  }
  // One submit per press: a payment form must not be sent twice by a double click.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.dataset.submitting === '1') {
      e.preventDefault();
      return;
    }
    form.dataset.submitting = '1';
    form.setAttribute('aria-busy', 'true');
    var buttons = form.querySelectorAll('button[type=submit], button:not([type])');
    setTimeout(function () {
      buttons.forEach(function (b) { b.disabled = true; });
    }, 0);
  });
})();
