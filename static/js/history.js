// The history page: correct or delete a submission from the list through the
// REST API, and apply a filter as soon as it changes.
(function () {
  "use strict";

  var root = document.getElementById("history");
  if (!root) return;
  var api = root.dataset.api;
  var status = document.getElementById("history-status");

  Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  function say(message) { status.textContent = message; }

  Array.prototype.forEach.call(document.querySelectorAll(".correct-select"), function (select) {
    select.addEventListener("change", function () {
      var row = select.closest(".submission");
      var id = select.dataset.id;
      var value = select.value;
      var previous = row.dataset.correction;
      var call = value === "" ? window.DigitsApi.withdraw(api, id) : window.DigitsApi.correct(api, id, Number(value));
      select.disabled = true;
      call.then(function () {
        row.dataset.correction = value;
        var text = row.querySelector(".correction-text");
        text.textContent = "";
        if (value === "") {
          var none = document.createElement("span");
          none.className = "help";
          none.textContent = "Not corrected";
          text.appendChild(none);
          say("Correction removed from submission " + id + ".");
        } else {
          var strong = document.createElement("strong");
          strong.textContent = value;
          text.append("Corrected to ", strong);
          say("Submission " + id + " corrected to " + value + ".");
        }
      }, function (error) {
        select.value = previous;
        say("Not saved: " + error.detail);
      }).then(function () { select.disabled = false; });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll(".delete-button"), function (button) {
    button.addEventListener("click", function () {
      var id = button.dataset.id;
      if (!window.confirm("Delete this submission and its picture? This cannot be undone.")) return;
      button.disabled = true;
      window.DigitsApi.remove(api, id).then(function () {
        var row = button.closest(".submission");
        var next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        say("Submission " + id + " deleted.");
        var focusable = next && next.querySelector("select");
        if (focusable) focusable.focus();
      }, function (error) {
        button.disabled = false;
        say("Not deleted: " + error.detail);
      });
    });
  });
})();
