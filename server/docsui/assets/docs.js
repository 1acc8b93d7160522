// Starts Swagger UI on this server's API document. The document names
// http://localhost:8080 as its server; the server this page came from is
// put first, so that "Try it out" calls it. Kept out of the HTML so that
// the page's Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  fetch("openapi.json", { headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) {
        throw new Error("openapi.json answered " + r.status);
      }
      return r.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: window.location.origin, description: "This server" }].concat(spec.servers || []);
      window.ui = SwaggerUIBundle({
        spec: spec,
        domNode: root,
        deepLinking: true,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        validatorUrl: null,
      });
    })
    .catch(function (err) {
      root.textContent = "Cannot load the API document: " + err.message;
    });
})();
