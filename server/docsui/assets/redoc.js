// Starts ReDoc on this server's API document, with the server this page
// came from listed first (the document names http://localhost:8080). Kept
// out of the HTML so that the page's Content-Security-Policy can forbid
// inline scripts.
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  fetch("openapi.json", { headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) {
        throw new Error("openapi.json answered " + r.status);
      }
      return r.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: window.location.origin, description: "This server" }].concat(spec.servers || []);
      Redoc.init(spec, {}, root);
    })
    .catch(function (err) {
      root.textContent = "Cannot load the API document: " + err.message;
    });
})();
