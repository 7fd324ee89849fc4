/* Autosave for the application form, and live character counts.
 *
 * Every few seconds, if anything changed, the form is POSTed to its data-autosave-url and the
 * #autosave-status live region says what happened. Nothing typed is lost on the way out:
 * - a step link or "Leave the form" saves first and only then leaves (it stays, and says why,
 *   when the save is refused);
 * - "Save and continue" waits for an autosave still on its way, so an older autosave can never
 *   land after the newer save;
 * - closing or reloading the tab sends unsaved changes on their way (keepalive), and asks
 *   first when the last save of those changes was refused (so they cannot be saved as they are).
 * When the endpoint answers `stop` (the draft was deleted, submitted or withdrawn since the
 * page was drawn, or the person may no longer change it; portal/ajax.py) or the session ended,
 * the page says so in an alert, stops saving, keeps the text and asks before it is left.
 * A field with data-limit gets a count ("9,850 of 10,000 characters"); a text over the limit is
 * marked and explained, never cut. Progressive enhancement only: without JavaScript the Save
 * buttons do the same. */
(function () {
  "use strict";
  var INTERVAL_MS = 4000;
  var form = document.querySelector("form[data-autosave-url]");
  var numbers = window.Intl && window.Intl.NumberFormat ? new window.Intl.NumberFormat("en-GB") : null;

  function number(n) {
    return numbers ? numbers.format(n) : String(n);
  }

  /* --- Character counts ------------------------------------------------------------------ */

  function length(value) {
    return value.replace(/\r\n/g, "\n").length; // a line break is one character, as on the server
  }

  function counter(field) {
    var limit = parseInt(field.getAttribute("data-limit"), 10);
    if (!limit || !field.id) {
      return;
    }
    var count = document.createElement("div");
    count.id = field.id + "-count";
    count.className = "form-text char-count";
    var alert = document.createElement("div");
    alert.id = field.id + "-over";
    alert.className = "invalid-feedback d-block";
    alert.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", alert);
    field.insertAdjacentElement("afterend", count);
    var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(count.id, alert.id);
    field.setAttribute("aria-describedby", described.join(" "));

    function update() {
      var used = length(field.value);
      count.textContent = number(used) + " of " + number(limit) + " characters";
      var over = used - limit;
      if (over > 0) {
        field.classList.add("is-invalid");
        alert.textContent =
          number(over) + " character" + (over === 1 ? "" : "s") + " over the limit: shorten it to save it. Nothing has been cut.";
      } else if (alert.textContent) {
        field.classList.remove("is-invalid");
        alert.textContent = "";
      }
    }
    field.addEventListener("input", update);
    update();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-limit]"), counter);

  /* --- Autosave ---------------------------------------------------------------------------- */

  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) {
    return;
  }
  var url = form.getAttribute("data-autosave-url");
  var status = document.getElementById("autosave-status");
  var total = document.getElementById("requested-total");
  var lastSaved = serialise();
  var inFlight = null; // the promise of the save on its way, if any
  var refused = false; // the last save was refused (a form error), so leaving would lose it
  var submitting = false;
  var stopped = false; // the endpoint said saving cannot work any more: no more tries

  function serialise() {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function dirty() {
    return serialise() !== lastSaved;
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

  /* Resolves to true when what the form holds now is saved. */
  function save(options) {
    if (stopped) {
      return Promise.resolve(false);
    }
    if (inFlight) {
      return inFlight.then(function () {
        return dirty() ? save(options) : true;
      });
    }
    var body = serialise();
    if (body === lastSaved) {
      return Promise.resolve(true);
    }
    say("Saving…");
    inFlight = fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: Boolean(options && options.keepalive),
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "X-Requested-With": "XMLHttpRequest"
      }
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          // Not the endpoint's answer: the log-in page (the session ended) or an error page.
          return { ok: false, data: { saved: false, stop: true, message: response.redirected
            ? "You have been signed out, so this was not saved. Sign in again in another tab, then press Save. Nothing you typed is lost from this page."
            : "The portal could not save this just now. Nothing you typed is lost from this page: copy it before you leave." } };
        }
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        if (result.data.stop) {
          // Saving can never work as things are (the draft was deleted, submitted or withdrawn,
          // or the right to change it went): say so where it is seen, stop trying, keep the text
          // and ask before the page is left.
          stopped = true;
          refused = true;
          say(result.data.message);
          if (status) {
            status.setAttribute("role", "alert");
            status.className = "autosave-status alert alert-warning";
          }
          return false;
        }
        refused = !(result.ok && result.data.saved);
        if (!refused) {
          lastSaved = body;
          say("Draft saved at " + result.data.saved_at_display + ".");
          if (total && result.data.requested) {
            total.textContent = result.data.requested;
          }
          return true;
        }
        var message = firstError(result.data.errors);
        say("Not saved yet" + (message ? ": " + message : ".") + " Press Save to see the details.");
        return false;
      })
      .catch(function () {
        say("Could not reach the portal just now; we will try again. Press Save to save by hand.");
        return false;
      })
      .then(function (saved) {
        inFlight = null;
        return saved;
      });
    return inFlight;
  }

  window.setInterval(function () {
    if (!submitting && !stopped) {
      save();
    }
  }, INTERVAL_MS);

  /* Leaving through a link of the page: save, then go. */
  Array.prototype.forEach.call(
    document.querySelectorAll('nav[aria-label="Application steps"] a, a[data-leaves-form]'),
    function (link) {
      link.addEventListener("click", function (event) {
        if (stopped || (!dirty() && !inFlight)) { // stopped: the browser asks before unsaved text goes
          return;
        }
        event.preventDefault();
        save().then(function (saved) {
          if (saved) {
            submitting = true; // nothing left to protect: leave without the "unsaved" prompt
            window.location.assign(link.href);
          } else {
            say((status && status.textContent ? status.textContent + " " : "") + "You are still on this step so nothing is lost.");
          }
        });
      });
    }
  );

  /* The Save buttons: wait for an autosave on its way, then post the form as usual. */
  form.addEventListener("submit", function (event) {
    if (submitting) {
      return;
    }
    if (stopped) {
      // Posting would only answer "not found" or "not allowed" in place of the page, and the
      // text would go with it: stay, and say again why.
      event.preventDefault();
      if (status) {
        status.setAttribute("tabindex", "-1");
        status.focus();
      }
      return;
    }
    if (inFlight) {
      event.preventDefault();
      var submitter = event.submitter || null;
      inFlight.then(function () {
        submitting = true;
        if (form.requestSubmit) {
          form.requestSubmit(submitter);
        } else {
          form.submit();
        }
      });
      return;
    }
    submitting = true;
    lastSaved = serialise(); // the normal POST saves it
  });

  window.addEventListener("beforeunload", function (event) {
    if (submitting || !dirty()) {
      return;
    }
    if (refused) {
      event.preventDefault(); // the browser asks "Leave site?": these changes cannot be saved yet
      event.returnValue = "";
    } else {
      save({ keepalive: true });
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && !submitting && !stopped) {
      save({ keepalive: true });
    }
  });
})();
