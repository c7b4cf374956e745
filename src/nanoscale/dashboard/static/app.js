// NanoScale dashboard enhancements. Every form works without this file; it adds the theme
// toggle, command presets, extra env var rows and the live log streams.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("nanoscale-theme"); } catch (e) { /* storage disabled */ }
  if (saved === "light" || saved === "dark") root.setAttribute("data-theme", saved);

  function setupThemeToggle(button) {
    function sync() {
      var light = root.getAttribute("data-theme") === "light";
      button.textContent = light ? "Dark theme" : "Light theme";
      button.setAttribute("aria-pressed", String(light));
    }
    button.addEventListener("click", function () {
      var next = root.getAttribute("data-theme") === "light" ? "dark" : "light";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("nanoscale-theme", next); } catch (e) { /* ignore */ }
      sync();
    });
    sync();
  }

  function setupPresets(select) {
    var presets = JSON.parse(select.getAttribute("data-presets") || "{}");
    select.addEventListener("change", function () {
      var preset = presets[select.value];
      if (!preset) return;
      // The fields now hold the preset; tell the server not to refill ones the user clears.
      var applied = select.form.elements.namedItem("preset_applied");
      if (applied) applied.value = "1";
      Object.keys(preset.fields).forEach(function (name) {
        var input = select.form.elements.namedItem(name);
        if (input) input.value = preset.fields[name];
      });
    });
  }

  function setupEnvEditor(fieldset) {
    var button = fieldset.querySelector("[data-env-add]");
    var template = fieldset.querySelector("template[data-env-template]");
    if (!button || !template) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var row = template.content.firstElementChild.cloneNode(true);
      button.parentElement.before(row);
      row.querySelector("input").focus();
    });
  }

  // A select that reloads its (GET) form when changed, e.g. the GitHub account picker; without
  // JavaScript the form's own button does the same.
  function setupAutosubmit(select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }

  // Follows a deployment's log over SSE; the server ends the stream when the deployment is done.
  function streamLog(pre) {
    var src = pre.getAttribute("data-log-src");
    if (!src || pre.getAttribute("data-log-state") !== "streaming" || !window.EventSource) return;
    pre.textContent = "";
    var source = new EventSource(src, { withCredentials: true });
    function append(text) {
      var follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
      pre.textContent += text;
      if (follow) pre.scrollTop = pre.scrollHeight;
    }
    // Each `log` event carries one chunk of text, newlines included.
    source.addEventListener("log", function (event) { append(event.data); });
    function finish(event) {
      source.close();
      pre.setAttribute("data-log-state", "done");
      var status = document.querySelector("[data-log-status]");
      if (status && event && event.data) status.textContent = event.data;  // the final state
    }
    source.addEventListener("end", finish);
    // The browser reconnects by itself (resuming at Last-Event-ID); stop only if it gave up.
    source.onerror = function () { if (source.readyState === EventSource.CLOSED) finish(null); };
  }

  // Follows the live release's own output. Each `release` event names the release followed
  // from then on and is followed by its latest lines: the first replaces what the server
  // rendered, a reconnect to the same release replaces that release's part, and a new
  // release (redeploy, rollback) keeps the earlier output and starts below a separator line.
  function streamAppLog(pre) {
    var src = pre.getAttribute("data-app-log-src");
    if (!src || !window.EventSource) return;
    var source = new EventSource(src, { withCredentials: true });
    var following = null;  // the release id shown last; null until the first event
    var partStart = 0;  // where that release's output begins in the text
    var placeholder = false;  // the text is only the "nothing is running" note
    function follow() { return pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8; }
    function separator(id) {
      var label = id ? "next release (deployment " + id.slice(0, 8) + ")" : "release stopped";
      return "\u2500\u2500\u2500\u2500 " + label + " \u2500\u2500\u2500\u2500\n";
    }
    source.addEventListener("release", function (event) {
      var id = event.data, text = pre.textContent;
      if (following === null || placeholder) {
        text = "";
      } else if (id === following) {
        text = text.slice(0, partStart);
      } else {
        if (text && text.slice(-1) !== "\n") text += "\n";
        text += separator(id);
      }
      placeholder = !id && !text;
      if (placeholder) text = "Nothing is running yet.\n";
      pre.textContent = text;
      partStart = text.length;
      following = id;
      pre.setAttribute("data-app-log-release", id);
    });
    source.addEventListener("output", function (event) {
      var atEnd = follow();
      pre.textContent += event.data;
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    });
  }

  // Copies the target input's value (a new API token); falls back to selecting it.
  function setupCopy(button) {
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      input.select();
      function done(ok) { button.textContent = ok ? "Copied" : "Press Ctrl+C"; }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(false); });
      } else {
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { /* unsupported */ }
        done(ok);
      }
    });
  }

  // Forms that undo something ask first (a revoke, a rollback).
  function setupConfirm(form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(setupCopy);
    document.querySelectorAll("form[data-confirm]").forEach(setupConfirm);
    document.querySelectorAll("[data-theme-toggle]").forEach(setupThemeToggle);
    document.querySelectorAll("select[data-presets]").forEach(setupPresets);
    document.querySelectorAll("[data-env-editor]").forEach(setupEnvEditor);
    document.querySelectorAll("select[data-autosubmit]").forEach(setupAutosubmit);
    document.querySelectorAll("pre[data-log-src]").forEach(streamLog);
    document.querySelectorAll("pre[data-app-log-src]").forEach(streamAppLog);
  });
})();
