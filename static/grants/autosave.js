/* Autosave for the application form: every few seconds, if anything changed, POST the form
 * to its data-autosave-url and say what happened in the #autosave-status live region.
 * Progressive enhancement only: without JavaScript the Save buttons do the same. */
(function () {
  "use strict";
  var INTERVAL_MS = 4000;
  var form = document.querySelector("form[data-autosave-url]");
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) {
    return;
  }
  var url = form.getAttribute("data-autosave-url");
  var status = document.getElementById("autosave-status");
  var total = document.getElementById("requested-total");
  var lastSaved = serialise();
  var saving = false;

  function serialise() {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function firstError(errors) {
    var names = Object.keys(errors || {});
    for (var i = 0; i < names.length; i++) {
      var value = errors[names[i]];
      if (Array.isArray(value) && value.length && value[0] && value[0].message) {
        return value[0].message;
      }
      if (Array.isArray(value)) {
        for (var j = 0; j < value.length; j++) {
          var nested = firstError(value[j]);
          if (nested) {
            return nested;
          }
        }
      }
    }
    return "";
  }

  function save() {
    var body = serialise();
    if (saving || body === lastSaved) {
      return;
    }
    saving = true;
    say("Saving…");
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "X-Requested-With": "XMLHttpRequest"
      }
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        if (result.ok && result.data.saved) {
          lastSaved = body;
          say("Draft saved at " + result.data.saved_at_display + ".");
          if (total && result.data.requested) {
            total.textContent = result.data.requested;
          }
        } else {
          var message = firstError(result.data.errors);
          say("Not saved yet" + (message ? ": " + message : "") + " Press Save to see the details.");
        }
      })
      .catch(function () {
        say("Could not reach the portal just now; we will try again. Press Save to save by hand.");
      })
      .then(function () {
        saving = false;
      });
  }

  window.setInterval(save, INTERVAL_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      save();
    }
  });
  form.addEventListener("submit", function () {
    lastSaved = serialise(); // the normal POST saves it; no autosave in between
  });
})();
