/* A queued or running run's page reloads itself every few seconds, until the reader stops it
   (WCAG 2.2.1: a time limit the user can turn off; a <meta refresh> cannot be turned off). */
"use strict";

(function () {
  const KEY = "etfsync-run-refresh-paused";

  function start() {
    const panel = document.querySelector("[data-refresh-seconds]");
    const toggle = document.getElementById("auto-refresh");
    if (!panel || !toggle) {
      return;
    }
    const seconds = Number(panel.dataset.refreshSeconds) || 5;
    let paused = sessionStorage.getItem(KEY) === "1";
    let timer = null;

    function show() {
      toggle.textContent = paused ? "Resume refreshing" : "Stop refreshing";
      toggle.setAttribute("aria-pressed", paused ? "true" : "false");
    }

    function schedule() {
      clearTimeout(timer);
      if (!paused) {
        timer = setTimeout(() => window.location.reload(), seconds * 1000);
      }
    }

    toggle.addEventListener("click", () => {
      paused = !paused;
      sessionStorage.setItem(KEY, paused ? "1" : "0");
      show();
      schedule();
    });
    show();
    schedule();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
