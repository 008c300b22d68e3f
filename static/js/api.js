// A small client for the REST API, used by the pages with the browser's
// session cookie and Django's CSRF token. Errors carry the API's
// {"detail", "code"} as error.detail and error.code.
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function ApiError(status, body) {
    this.status = status;
    this.code = (body && body.code) || "http_" + status;
    this.detail = (body && body.detail) || "The server answered " + status + ".";
    this.message = this.detail;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function request(method, url, body) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" };
    var payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    // keepalive: a delete or correction sent just before leaving the page still arrives.
    var options = { method: method, headers: headers, body: payload, credentials: "same-origin", keepalive: method !== "POST" && method !== "GET" };
    return fetch(url, options).then(
      function (response) {
        var location = response.headers.get("Location");
        if (response.status === 204) return { status: 204, data: null, location: location };
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (!response.ok) throw new ApiError(response.status, data);
          return { status: response.status, data: data, location: location };
        });
      },
      function () {
        throw new ApiError(0, { detail: "Could not reach the server. Check your connection.", code: "network" });
      }
    );
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // POST a submission; if the answer is 202 (still pending), poll until it is done.
  function submit(base, body) {
    return request("POST", base + "?wait=10", body).then(function (answer) {
      if (answer.data && answer.data.status !== "pending") return answer.data;
      var url = answer.location || base + answer.data.id + "/";
      var delay = 200;
      var started = Date.now();
      function poll() {
        return request("GET", url).then(function (next) {
          if (next.data.status !== "pending") return next.data;
          if (Date.now() - started > 60000) {
            throw new ApiError(504, { detail: "The prediction is taking too long. Try again.", code: "timeout" });
          }
          delay = Math.min(delay * 1.5, 2000);
          return sleep(delay).then(poll);
        });
      }
      return sleep(delay).then(poll);
    });
  }

  window.DigitsApi = {
    submit: submit,
    correct: function (base, id, label) { return request("PUT", base + id + "/correction/", { label: label }); },
    withdraw: function (base, id) { return request("DELETE", base + id + "/correction/"); },
    remove: function (base, id) { return request("DELETE", base + id + "/"); },
    ApiError: ApiError
  };
})();
