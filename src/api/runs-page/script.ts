/**
 * The runs pages' only script, served as /runs/assets/runs.js (the dashboard's CSP allows
 * scripts from 'self' only, no inline script). On a run's page, while the run is waiting or
 * running, it fetches the same page once a second and swaps in the facts, the timeline and the
 * Cancel form: the server renders (and escapes) everything, the script moves finished markup.
 * DOMParser does not run scripts in what it parses. Kept as a string here so `tsc` ships it in
 * dist/ without a copy step.
 */
export const RUNS_PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var REFRESH_MS = 1000;
  var LIVE = { waiting: true, running: true };
  function runState(doc) {
    var el = doc.querySelector('#facts [data-field="state"]');
    return el ? el.textContent : '';
  }
  function swap(fresh, id) {
    var now = document.getElementById(id);
    var next = fresh.getElementById(id);
    if (now && next) now.replaceWith(document.importNode(next, true));
    else if (now && !next) now.remove();
  }
  function refresh() {
    fetch(location.pathname, { headers: { accept: 'text/html' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(new Error('HTTP ' + res.status)); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        swap(fresh, 'facts');
        swap(fresh, 'steps');
        swap(fresh, 'cancel');
        document.body.setAttribute('data-refreshed', String(Date.now()));
        if (LIVE[runState(document)]) setTimeout(refresh, REFRESH_MS);
      })
      .catch(function () { setTimeout(refresh, REFRESH_MS * 5); });
  }
  document.addEventListener('DOMContentLoaded', function () {
    if (document.getElementById('run') && LIVE[runState(document)]) setTimeout(refresh, REFRESH_MS);
  });
})();
`;
