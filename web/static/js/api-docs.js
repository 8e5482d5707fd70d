// The API docs page: Swagger UI over this server's OpenAPI document (no inline script, so the
// page keeps the site's Content-Security-Policy).
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true });
});
